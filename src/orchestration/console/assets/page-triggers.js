// `/ui/triggers?name=…`: triggers, searched by name.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { triggersTable } from "./lists.js";
import { paths } from "./routes.js";
import { pager } from "./widgets.js";

export async function render(main, route, ctx) {
  ctx.title("Triggers");
  const name = ctx.query.get("name") ?? "";
  const page = await api.listTriggers({ name, cursor: ctx.query.get("cursor") }, ctx.signal);
  const search = h("input", { id: "trigger-name", name: "name", type: "search", value: name });
  replace(main,
    h("h1", { tabindex: "-1" }, "Triggers"),
    h("form", {
      class: "filters", role: "search", "aria-label": "Search triggers",
      onsubmit: (event) => {
        event.preventDefault();
        ctx.navigate(paths.triggers({ name: search.value }));
      },
    },
    h("div", { class: "field" }, h("label", { for: "trigger-name" }, "Name contains"), search),
    h("button", { type: "submit" }, "Search")),
    triggersTable(page.data),
    pager(page, (cursor) => ctx.navigate(paths.triggers({ name, cursor }))));
}
