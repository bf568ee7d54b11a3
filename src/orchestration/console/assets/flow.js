// A workflow's stages drawn as a flow, start to end, each box saying what the stage does.
// On an instance's page the boxes also carry the state each stage is in.

import { h } from "./dom.js";
import { badge } from "./widgets.js";
import { stageType } from "./format.js";

const text = (value) => (typeof value === "string" ? value : JSON.stringify(value));

function party(side) {
  if (!side || typeof side !== "object") return "?";
  const [kind, ref = {}] = Object.entries(side)[0] ?? ["?", {}];
  const of = ref && typeof ref === "object" ? ref : {};
  switch (kind) {
    case "account":
      return `account ${text(of.id ?? "?")}${of.ledger ? ` on ${text(of.ledger)}` : ""}`;
    case "wallet":
      return `wallet ${text(of.id ?? of.name ?? "?")}${of.balance ? ` (${text(of.balance)})` : ""}`;
    case "payment":
      return of.id ? `payment ${text(of.id)}` : `payment via ${text(of.psp ?? "?")}`;
    default:
      return `${kind} ${text(ref)}`;
  }
}

/** One line saying what a stage of a definition does. */
export function describeStage(stage) {
  const type = stageType(stage);
  const config = (stage && typeof stage[type] === "object" && stage[type]) || {};
  switch (type) {
    case "send": {
      const { amount, asset } = config.amount ?? {};
      const what = config.amount ? `${text(amount ?? "all")} ${text(asset ?? "")}`.trim() : "";
      return `Send ${what ? `${what} ` : ""}from ${party(config.source)} to ${party(config.destination)}`;
    }
    case "delay":
      if (config.duration !== undefined) return `Wait ${text(config.duration)}`;
      return config.until !== undefined ? `Wait until ${text(config.until)}` : "Wait";
    case "wait_event":
      return `Wait for the event “${text(config.event ?? "")}”`;
    case "update": {
      const account = config.account ?? {};
      const keys = Object.keys(account.metadata ?? {});
      return `Set ${keys.length ? keys.join(", ") : "metadata"} on account ${text(account.id ?? "?")}`;
    }
    case "noop":
      return "Do nothing";
    default:
      return text(stage?.[type] ?? stage);
  }
}

/** Start and End: drawn, not read (the list's items are the stages). */
const end = (label) => h("li", { class: "flow-end", "aria-hidden": "true" }, label);

/**
 * The flow of `stages`. `states[i]`, when given, is the `{label, tone}` of stage i, shown on its box.
 * A list: read in order by a screen reader, drawn left to right (wrapping) on screen.
 */
export function flow(stages, states = null) {
  const boxes = stages.map((stage, index) => {
    const state = states?.[index];
    return h("li", { class: `flow-stage${state ? ` tone-${state.tone}` : ""}` },
      h("span", { class: "flow-number" }, `Stage ${index}`),
      h("strong", { class: "flow-type" }, stageType(stage)),
      h("span", { class: "flow-text" }, describeStage(stage)),
      state ? badge(state) : null);
  });
  return h("ol", { class: "flow", "aria-label": `Flow of ${stages.length} stage${stages.length === 1 ? "" : "s"}` },
    end("Start"), ...boxes, end("End"));
}
