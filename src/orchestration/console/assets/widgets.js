// Building blocks shared by the pages: badges, fact lists, tables, JSON blocks, pagers.

import { h, replace } from "./dom.js";

let headings = 0;

/** A titled section (a landmark named by its heading). */
export function section(title, ...children) {
  const headingId = `section-${++headings}`;
  return h("section", { "aria-labelledby": headingId }, h("h2", { id: headingId }, title), ...children);
}

/** A status label: the text says it, the colour only repeats it. */
export function badge({ label, tone }) {
  return h("span", { class: `badge tone-${tone}` }, label);
}

/** A description list of `[term, value]` pairs; pairs whose value is null are left out. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, value]) => value !== null && value !== undefined)
    .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** JSON shown as text, folded under a summary; `key` names it for `redraw`. */
export function json(value, summary, key = null) {
  return h("details", { class: "json", "data-key": key },
    h("summary", {}, summary),
    h("pre", { tabindex: "0" }, h("code", {}, JSON.stringify(value, null, 2))));
}

/** Replace what `container` shows, keeping unfolded the JSON blocks the reader had unfolded. */
export function redraw(container, ...children) {
  const unfolded = new Set([...container.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
  replace(container, ...children);
  for (const details of container.querySelectorAll("details[data-key]")) {
    if (unfolded.has(details.dataset.key)) details.open = true;
  }
}

/** A table: `columns` are `[heading, row => cell]`; `empty` is said when there are no rows. */
export function table({ caption, columns, rows, empty }) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-scroll" },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map(([heading]) => h("th", { scope: "col" }, heading)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))))))));
}

/** Previous/next buttons over a v2 cursor page; `go(cursor)` shows another page. */
export function pager(page, go) {
  if (!page.previous && !page.next) return null;
  const button = (label, target) =>
    h("button", { type: "button", class: "secondary", disabled: !target, onclick: () => go(target) }, label);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    button("Previous page", page.previous), button("Next page", page.next));
}

/** A line that says how an action went (polite) or why it failed (assertive). */
export function outcome() {
  const element = h("p", { class: "outcome", role: "status" });
  return {
    element,
    say(text) {
      element.className = "outcome";
      element.replaceChildren(text);
    },
    fail(text) {
      element.className = "outcome error";
      element.replaceChildren(text);
    },
  };
}
