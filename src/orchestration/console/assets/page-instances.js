// `/ui/instances?workflow=…&state=running|terminated`: instances, filtered, kept current.
// The API filters by workflow and "running"; "terminated" is picked from each page here.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { shortId, workflowName } from "./format.js";
import { instancesTable } from "./lists.js";
import { watch } from "./poller.js";
import { paths } from "./routes.js";
import { pager } from "./widgets.js";

const STATES = [["", "All"], ["running", "Running"], ["terminated", "Terminated"]];

export async function render(main, route, ctx) {
  ctx.title("Instances");
  const filters = { workflow: ctx.query.get("workflow") ?? "", state: ctx.query.get("state") ?? "" };
  const cursor = ctx.query.get("cursor");
  const running = filters.state === "running";
  const workflows = await api.listWorkflows({ pageSize: 100 }, ctx.signal);
  const results = h("div", { id: "instances-results" });
  const apply = (changes) => ctx.navigate(paths.instances({ ...filters, ...changes, cursor: undefined }));
  replace(main,
    h("h1", { tabindex: "-1" }, "Instances"),
    filterForm(filters, workflows.data, apply),
    filters.state === "terminated"
      ? h("p", { class: "help" }, "Terminated instances are picked from each page of the list: a page may show fewer.")
      : null,
    results);
  await watch({
    ctx,
    load: () => api.listInstances({ workflowID: filters.workflow, running: running ? "true" : "", cursor }, ctx.signal),
    draw: (page) => {
      const rows = filters.state === "terminated" ? page.data.filter((i) => i.terminated) : page.data;
      replace(results,
        instancesTable(rows, { empty: "No instance matches these filters." }),
        pager(page, (next) => ctx.navigate(paths.instances({ ...filters, cursor: next }))));
    },
  });
}

function filterForm(filters, workflows, apply) {
  const known = workflows.some((w) => w.id === filters.workflow);
  const select = h("select", { id: "filter-workflow", name: "workflow" },
    h("option", { value: "" }, "Any workflow"),
    workflows.map((w) =>
      h("option", { value: w.id, selected: w.id === filters.workflow }, `${workflowName(w)} (${shortId(w.id)})`)),
    filters.workflow && !known ? h("option", { value: filters.workflow, selected: true }, filters.workflow) : null);
  const radios = STATES.map(([value, label]) => h("label", { class: "choice" },
    h("input", { type: "radio", name: "state", value, checked: value === filters.state }), label));
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    apply({ workflow: form.get("workflow"), state: form.get("state") });
  };
  return h("form", { class: "filters", role: "search", "aria-label": "Filter instances", onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: "filter-workflow" }, "Workflow"), select),
    h("fieldset", {}, h("legend", {}, "Status"), radios),
    h("button", { type: "submit" }, "Apply filters"));
}
