// `/ui/workflows`: every workflow, a page at a time.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { workflowsTable } from "./lists.js";
import { paths } from "./routes.js";
import { pager } from "./widgets.js";

export async function render(main, route, ctx) {
  ctx.title("Workflows");
  const page = await api.listWorkflows({ cursor: ctx.query.get("cursor") }, ctx.signal);
  replace(main,
    h("h1", { tabindex: "-1" }, "Workflows"),
    h("p", { class: "help" }, "Workflows are created through the API (", h("code", {}, "POST /v2/workflows"),
      ") or the command-line client; open one to see its stages and run it."),
    workflowsTable(page.data),
    pager(page, (cursor) => ctx.navigate(paths.workflows({ cursor }))));
}
