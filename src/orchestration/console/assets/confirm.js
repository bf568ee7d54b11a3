// A confirmation in a modal dialog: focus stays inside, Escape or "Cancel" says no.

import { h } from "./dom.js";

/** Resolves to true when the user confirms. The safe choice has the focus first. */
export function confirmAction({ title, message, confirm, cancel = "Cancel" }) {
  return new Promise((resolve) => {
    const labels = { "aria-labelledby": "confirm-title", "aria-describedby": "confirm-message" };
    const dialog = h("dialog", { class: "confirm", ...labels },
      h("h2", { id: "confirm-title" }, title),
      h("p", { id: "confirm-message" }, message),
      h("form", { method: "dialog", class: "actions" },
        h("button", { type: "submit", value: "cancel", class: "secondary", autofocus: true }, cancel),
        h("button", { type: "submit", value: "confirm", class: "danger" }, confirm)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
