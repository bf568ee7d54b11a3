// The console's entry point: shows the page the address names, follows links without
// reloading (history API), and says in the page why the API refused or did not answer.

import { h, replace } from "./dom.js";
import { isConsoleUrl, match, BASE } from "./routes.js";
import { problemPage, explain } from "./problems.js";
import { forgetToken, getToken } from "./session.js";
import * as overview from "./page-overview.js";
import * as workflows from "./page-workflows.js";
import * as workflow from "./page-workflow.js";
import * as instances from "./page-instances.js";
import * as instance from "./page-instance.js";
import * as triggers from "./page-triggers.js";
import * as trigger from "./page-trigger.js";

const PAGES = { overview, workflows, workflow, instances, instance, triggers, trigger };
const SECTION_OF = { workflow: "workflows", instance: "instances", trigger: "triggers" };
const WHAT = { workflow: "workflow with this id", instance: "instance with this id", trigger: "trigger with this id" };

const main = document.getElementById("main");
const notice = document.getElementById("notice");
let leaving = null; // aborts the page shown: its requests and its polling
let firstShow = true;
let shown = ""; // the address shown: a change of its #fragment alone (the skip link) is no new page

function navigate(url) {
  history.pushState(null, "", url);
  show();
}

/** A line above the page (null: none), with an action to take. */
function say(text, action = null) {
  replace(notice, text, action ? " " : null,
    action ? h("button", { type: "button", class: "secondary small", onclick: action.run }, action.label) : null);
}

async function show() {
  leaving?.abort();
  const controller = new AbortController();
  leaving = controller;
  shown = location.pathname + location.search;
  const route = match(location.pathname);
  markSection(SECTION_OF[route.name] ?? route.name);
  say(null);
  replace(main, h("p", { class: "loading" }, "Loading…"));
  const ctx = {
    signal: controller.signal,
    query: new URLSearchParams(location.search),
    navigate,
    title: (text) => { document.title = `${text} · Orchestration`; },
    fail: (error) => {
      if (controller.signal.aborted) return;
      controller.abort(); // nothing of the page keeps running behind the message
      say(null);
      replace(main, problemPage(error, { retry: show, what: WHAT[route.name] }));
      focusHeading();
    },
    // An action failed: without a valid token the page asks for one; otherwise it is said by the action.
    actionFailed: (error, outcome) => (error.kind === "unauthorized" ? ctx.fail(error) : outcome.fail(explain(error))),
    // A background refresh failed (or, with null, works again): said above the page, which stays.
    problem: (error, retryIn, retryNow) => {
      if (error === null) return say(null);
      if (retryIn === null) return ctx.fail(error);
      say(`${explain(error)} Trying again in ${Math.round(retryIn / 1000)} s; what you see may be out of date.`,
        { label: "Try again now", run: retryNow });
    },
  };
  try {
    const page = PAGES[route.name];
    if (!page) {
      ctx.title("Not found");
      replace(main, h("h1", { tabindex: "-1" }, "Not found"),
        h("p", {}, "No page of the console has this address."),
        h("p", {}, h("a", { href: BASE }, "Go to the overview")));
    } else {
      await page.render(main, route, ctx);
    }
    if (!controller.signal.aborted) focusHeading();
  } catch (error) {
    if (error.name !== "AbortError") ctx.fail(error);
  }
}

// After a navigation, the new page's heading gets the focus, so that a screen reader reads it;
// on the first load the focus stays where the browser puts it.
function focusHeading() {
  if (firstShow) {
    firstShow = false;
    return;
  }
  main.querySelector("h1")?.focus({ preventScroll: false });
}

function markSection(name) {
  for (const link of document.querySelectorAll("nav a[data-section]")) {
    if (link.dataset.section === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function showSession() {
  const area = document.getElementById("session");
  if (!getToken()) return replace(area);
  replace(area, h("span", {}, "Using an access token"),
    h("button", { type: "button", class: "secondary small", onclick: () => { forgetToken(); show(); } },
      "Forget token"));
}

document.addEventListener("click", (event) => {
  const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey; // a new tab, a download…
  if (event.defaultPrevented || event.button !== 0 || modified) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href);
  if (!isConsoleUrl(url)) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return; // the skip link
  event.preventDefault();
  if (url.href !== location.href) navigate(url.href);
});
window.addEventListener("popstate", () => {
  if (location.pathname + location.search !== shown) show();
});
window.addEventListener("tokenchange", showSession);

showSession();
show();
