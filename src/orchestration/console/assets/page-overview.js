// `/ui/`: what runs now, and the workflows there are.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { instancesTable, workflowsTable } from "./lists.js";
import { watch } from "./poller.js";
import { paths } from "./routes.js";
import { section } from "./widgets.js";

export async function render(main, route, ctx) {
  ctx.title("Overview");
  const running = h("div");
  const workflows = h("div");
  replace(main,
    h("h1", { tabindex: "-1" }, "Overview"),
    section("Running instances", running, h("p", {}, h("a", { href: paths.instances() }, "All instances"))),
    section("Workflows", workflows, h("p", {}, h("a", { href: paths.workflows() }, "All workflows"))));
  await Promise.all([
    watch({
      ctx,
      load: () => api.listInstances({ running: "true", pageSize: 15 }, ctx.signal),
      draw: (page) => replace(running, instancesTable(page.data, {
        caption: "Running instances (first 15)", empty: "No instance is running.",
      })),
    }),
    api.listWorkflows({ pageSize: 15 }, ctx.signal).then((page) =>
      replace(workflows, workflowsTable(page.data, { caption: "Workflows (first 15)" }))),
  ]);
}
