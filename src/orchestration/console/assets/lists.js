// The tables of workflows, instances and triggers, shared by the pages that list them.

import { h } from "./dom.js";
import { instanceState, shortId, stageType, when, workflowName } from "./format.js";
import { paths } from "./routes.js";
import { badge, table } from "./widgets.js";

const idLink = (href, id) => h("a", { href, title: id, "aria-label": id }, h("code", {}, shortId(id)));

export function workflowsTable(rows, { caption = "Workflows" } = {}) {
  return table({
    caption,
    rows,
    empty: "No workflows yet.",
    columns: [
      ["Name", (w) => h("a", { href: paths.workflow(w.id) }, workflowName(w))],
      ["Stages", (w) => (w.config?.stages ?? []).map(stageType).join(" → ") || "none"],
      ["Created", (w) => when(w.createdAt)],
      ["ID", (w) => h("code", {}, w.id)],
    ],
  });
}

export function instancesTable(rows, { caption = "Instances", empty = "No instances." } = {}) {
  return table({
    caption,
    rows,
    empty,
    columns: [
      ["Instance", (i) => idLink(paths.instance(i.id), i.id)],
      ["Workflow", (i) => h("a", { href: paths.workflow(i.workflowID) },
        i.workflow ? workflowName(i.workflow) : shortId(i.workflowID))],
      ["Status", (i) => badge(instanceState(i))],
      ["Started", (i) => when(i.createdAt)],
      ["Ended", (i) => when(i.terminatedAt)],
      ["Error", (i) => (i.error ? h("span", { class: "error-text" }, i.error) : "")],
    ],
  });
}

export function triggersTable(rows, { caption = "Triggers" } = {}) {
  return table({
    caption,
    rows,
    empty: "No triggers.",
    columns: [
      ["Name", (t) => h("a", { href: paths.trigger(t.id) }, t.name || "Unnamed trigger")],
      ["Event", (t) => h("code", {}, t.event)],
      ["Filter", (t) => (t.filter ? h("code", {}, t.filter) : "every event")],
      ["Workflow", (t) => idLink(paths.workflow(t.workflowID), t.workflowID)],
      ["Created", (t) => when(t.createdAt)],
    ],
  });
}
