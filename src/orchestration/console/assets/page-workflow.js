// `/ui/workflows/{id}`: a workflow's stages drawn as a flow, a form to run it, and its instances.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { flow } from "./flow.js";
import { when, workflowName } from "./format.js";
import { instancesTable } from "./lists.js";
import { watch } from "./poller.js";
import { paths } from "./routes.js";
import { facts, json, outcome, section } from "./widgets.js";

export async function render(main, route, ctx) {
  const workflow = await api.getWorkflow(route.id, ctx.signal);
  const name = workflowName(workflow);
  const stages = workflow.config?.stages ?? [];
  ctx.title(name);
  const instances = h("div");
  replace(main,
    h("h1", { tabindex: "-1" }, name),
    facts([
      ["ID", h("code", {}, workflow.id)],
      ["Created", when(workflow.createdAt)],
      ["Stages", String(stages.length)],
      ["Deleted", workflow.deletedAt ? when(workflow.deletedAt) : null],
    ]),
    section("Flow", flow(stages)),
    section("Run", runForm(workflow, ctx)),
    section("Instances", instances,
      h("p", {}, h("a", { href: paths.instances({ workflow: workflow.id }) }, "All instances of this workflow"))),
    section("Definition", json(workflow.config, "Definition as stored (JSON)")));
  await watch({
    ctx,
    load: () => api.listInstances({ workflowID: workflow.id }, ctx.signal),
    draw: (page) => replace(instances, instancesTable(page.data, {
      caption: `Instances of ${name} (first page)`, empty: "This workflow has not run yet.",
    })),
  });
}

/** The `${name}` placeholders of a definition: the variables a run is likely to need. */
function placeholders(config) {
  const names = new Set();
  for (const found of JSON.stringify(config).matchAll(/\$\{([^}]+)\}/g)) names.add(found[1]);
  return Object.fromEntries([...names].map((name) => [name, ""]));
}

function runForm(workflow, ctx) {
  const said = outcome();
  const variables = h("textarea", {
    id: "run-variables", name: "variables", rows: "4", spellcheck: "false", "aria-describedby": "run-variables-help",
  });
  variables.value = JSON.stringify(placeholders(workflow.config), null, 2);
  const submit = async (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(variables.value || "{}");
    } catch (error) {
      return said.fail(`The variables are not valid JSON: ${error.message}`);
    }
    const object = parsed && typeof parsed === "object" && !Array.isArray(parsed);
    if (!object || Object.values(parsed).some((value) => typeof value !== "string")) {
      return said.fail("The variables must be a JSON object whose values are strings.");
    }
    said.say("Starting…");
    try {
      const started = await api.runWorkflow(workflow.id, parsed);
      ctx.navigate(paths.instance(started.id));
    } catch (error) {
      ctx.actionFailed(error, said);
    }
  };
  return h("form", { class: "run-form", onsubmit: submit },
    h("label", { for: "run-variables" }, "Variables"),
    variables,
    h("p", { id: "run-variables-help", class: "help" },
      "A JSON object of strings, e.g. ", h("code", {}, '{"amount": "100"}'),
      ". The definition's placeholders are filled in for you."),
    h("button", { type: "submit" }, "Run workflow"),
    said.element);
}
