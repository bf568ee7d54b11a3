// How values read on the page: times, durations, and the state of instances and stages.

import { h } from "./dom.js";

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A `<time>` in the reader's time zone; the exact timestamp in its tooltip and `datetime`. */
export function when(timestamp) {
  if (!timestamp) return "—";
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return String(timestamp);
  return h("time", { datetime: timestamp, title: timestamp }, DATE_TIME.format(date));
}

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
function duration(milliseconds) {
  if (!(milliseconds >= 0)) return "—";
  if (milliseconds < 1000) return `${Math.round(milliseconds)} ms`;
  const seconds = milliseconds / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** Time from `start` to `end` (or to now while it runs). */
export function elapsed(start, end) {
  return duration((end ? Date.parse(end) : Date.now()) - Date.parse(start));
}

/** "in 3.0 s" or "2.0 s ago", beside the time itself. */
export function relative(timestamp) {
  const delta = Date.parse(timestamp) - Date.now();
  const text = delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
  return [when(timestamp), ` (${text})`];
}

/** The first 8 characters of an id, for tables (the whole id is in the link's title). */
export function shortId(id) {
  return String(id).slice(0, 8);
}

/** `{label, tone}` of an instance: Running, Succeeded, Aborted or Failed. */
export function instanceState(instance) {
  if (!instance.terminated) return { label: "Running", tone: "running" };
  if (!instance.error) return { label: "Succeeded", tone: "ok" };
  if (instance.error === "canceled") return { label: "Aborted", tone: "warn" };
  return { label: "Failed", tone: "bad" };
}

/** The type of a stage of a workflow definition (its only key), or "?" for a malformed one. */
export function stageType(stage) {
  return stage && typeof stage === "object" ? (Object.keys(stage)[0] ?? "?") : "?";
}

/** A workflow's name, or a placeholder saying it has none. */
export function workflowName(workflow) {
  return workflow?.config?.name || "Unnamed workflow";
}
