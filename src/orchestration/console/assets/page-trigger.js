// `/ui/triggers/{id}`: a trigger's event, filter and variables, a form to test it against an
// event payload (v2 test endpoint), and its occurrences, kept current.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { instanceState, shortId, when } from "./format.js";
import { watch } from "./poller.js";
import { paths } from "./routes.js";
import { badge, facts, json, outcome, pager, redraw, section, table } from "./widgets.js";

export async function render(main, route, ctx) {
  const trigger = await api.getTrigger(route.id, ctx.signal);
  const name = trigger.name || "Unnamed trigger";
  ctx.title(name);
  const variables = Object.entries(trigger.vars ?? {});
  const occurrences = h("div");
  replace(main,
    h("h1", { tabindex: "-1" }, name),
    facts([
      ["ID", h("code", {}, trigger.id)],
      ["Event", h("code", {}, trigger.event)],
      ["Workflow", h("a", { href: paths.workflow(trigger.workflowID) }, h("code", {}, trigger.workflowID))],
      ["Version", trigger.version ?? null],
      ["Created", when(trigger.createdAt)],
    ]),
    section("Filter", trigger.filter
      ? h("pre", { class: "expression", tabindex: "0" }, h("code", {}, trigger.filter))
      : h("p", {}, "No filter: every event of this type starts the workflow.")),
    section("Variables", table({
      caption: "Variables given to the workflow, computed from the event",
      rows: variables,
      empty: "No variables.",
      columns: [["Name", ([n]) => h("code", {}, n)], ["Expression", ([, e]) => h("code", {}, e)]],
    })),
    section("Test with an event", testForm(trigger, ctx)),
    section("Occurrences", occurrences));
  const cursor = ctx.query.get("cursor");
  await watch({
    ctx,
    slowest: 15000,
    load: () => api.listOccurrences(trigger.id, { cursor }, ctx.signal),
    draw: (page) => redraw(occurrences, occurrencesTable(page.data),
      pager(page, (next) => ctx.navigate(`${paths.trigger(trigger.id)}?cursor=${encodeURIComponent(next)}`))),
  });
}

function occurrencesTable(rows) {
  return table({
    caption: "Times this trigger fired (first page)",
    rows,
    empty: "This trigger has not fired yet.",
    columns: [
      ["When", (o) => when(o.date)],
      ["Event", (o) => h("code", {}, o.event?.type ?? "")],
      ["Instance", (o) => (o.workflowInstanceID
        ? h("a", { href: paths.instance(o.workflowInstanceID), title: o.workflowInstanceID },
          h("code", {}, shortId(o.workflowInstanceID)))
        : "none")],
      ["Status", (o) => (o.workflowInstance ? badge(instanceState(o.workflowInstance)) : "")],
      ["Error", (o) => (o.error ? h("span", { class: "error-text" }, o.error) : "")],
      ["Payload", (o) => json(o.event, "Event", o.id)],
    ],
  });
}

function testForm(trigger, ctx) {
  const said = outcome();
  const result = h("div", { class: "test-result", "aria-live": "polite" });
  const payload = h("textarea", {
    id: "test-event", name: "event", rows: "6", spellcheck: "false", "aria-describedby": "test-event-help",
  });
  payload.value = "{}";
  const submit = async (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(payload.value);
    } catch (error) {
      return said.fail(`The event is not valid JSON: ${error.message}`);
    }
    said.say("Testing…");
    try {
      replace(result, testResult(await api.testTrigger(trigger.id, parsed), trigger));
      said.say("");
    } catch (error) {
      ctx.actionFailed(error, said);
    }
  };
  return [
    h("form", { class: "test-form", onsubmit: submit },
      h("label", { for: "test-event" }, "Event payload (JSON)"),
      payload,
      h("p", { id: "test-event-help", class: "help" }, "The event's ", h("code", {}, "payload"),
        ", as the filter and variables see it under ", h("code", {}, "event"),
        ". Nothing is started; link() calls in the expressions do run."),
      h("button", { type: "submit" }, "Test")),
    said.element,
    result,
  ];
}

function testResult({ filter, variables }, trigger) {
  let verdict;
  if (filter === null) {
    verdict = h("p", {}, "No filter: the event starts the workflow.");
  } else if (filter.error) {
    verdict = [h("p", { class: "error" }, h("strong", {}, "The filter failed, so the event is ignored:")),
      h("pre", { class: "filter-error", tabindex: "0" }, filter.error)];
  } else if (filter.match) {
    verdict = h("p", { class: "match" }, badge({ label: "Matches", tone: "ok" }), " The event starts the workflow.");
  } else {
    verdict = h("p", { class: "match" }, badge({ label: "No match", tone: "muted" }), " The event is ignored.");
  }
  const computed = Object.entries(variables ?? {});
  let values = null;
  if (computed.length) {
    values = table({
      caption: "Variables computed from this event",
      rows: computed,
      empty: "",
      columns: [
        ["Name", ([n]) => h("code", {}, n)],
        ["Value", ([, v]) => (v.value === undefined ? "" : h("code", { class: "var-value" }, v.value))],
        ["Error", ([, v]) => (v.error ? h("pre", { class: "error-text" }, v.error) : "")],
      ],
    });
  } else if (Object.keys(trigger.vars ?? {}).length) {
    values = h("p", {}, "Variables are computed only for an event the filter lets through.");
  }
  return [h("h3", {}, "Result"), verdict, values];
}
