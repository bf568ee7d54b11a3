// An instance's stages, one after the other: the state of each, when it ran, its error, the
// input it resolved to, and its activities with their attempts (the stage-history endpoint).

import { h } from "./dom.js";
import { describeStage } from "./flow.js";
import { elapsed, relative, stageType, when } from "./format.js";
import { badge, facts, json, table } from "./widgets.js";

const RUNNING = { label: "Running", tone: "running" };
const RETRYING = { label: "Retrying", tone: "warn" };

/** The `{label, tone}` of every stage of `stages` in this run. */
export function stageStates({ instance, activities }, stages) {
  const rows = new Map((instance.status ?? []).map((row) => [row.stage, row]));
  return stages.map((stage, index) => {
    const row = rows.get(index);
    if (!row) return instance.terminated ? { label: "Not run", tone: "muted" } : { label: "Pending", tone: "muted" };
    if (!row.terminatedAt) {
      if ((activities[index] ?? []).some((a) => !a.terminated && a.lastFailure)) return RETRYING;
      return stageType(stage) === "wait_event" ? { label: "Waiting for event", tone: "running" } : RUNNING;
    }
    if (!row.error) return { label: "Done", tone: "ok" };
    return row.error === "canceled" ? { label: "Aborted", tone: "warn" } : { label: "Failed", tone: "bad" };
  });
}

/** "wait_event" → "RunWaitEvent": how the instance history names a stage's execution. */
const executionName = (type) => `Run${type.split("_").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("")}`;

/**
 * The instance history's entry of each started stage. The history lists executions in start
 * order but has none for a stage that failed while resolving its input (spec Q-24): entries are
 * matched to stages by order and name.
 */
function historyOfStages(instance, history, stages) {
  const found = new Map();
  const started = [...(instance.status ?? [])].sort((a, b) => a.stage - b.stage);
  let next = 0;
  for (const row of started) {
    const entry = history[next];
    if (entry && entry.name === executionName(stageType(stages[row.stage]))) {
      found.set(row.stage, entry);
      next += 1;
    }
  }
  return found;
}

function activityState(activity) {
  if (!activity.terminated) return activity.lastFailure ? RETRYING : RUNNING;
  return activity.error ? { label: "Failed", tone: "bad" } : { label: "Done", tone: "ok" };
}

function activitiesTable(activities, stage) {
  return table({
    caption: `Activities of stage ${stage}`,
    rows: activities,
    empty: "No activity yet.",
    columns: [
      ["Activity", (a) => a.name],
      ["Attempt", (a) => h("span", { class: "attempt" }, String(a.attempt))],
      ["Status", (a) => badge(activityState(a))],
      ["Started", (a) => when(a.startedAt)],
      ["Last failure", (a) => (a.lastFailure ? h("span", { class: "error-text last-failure" }, a.lastFailure) : "")],
      ["Next attempt", (a) => (a.nextExecution ? relative(a.nextExecution) : "")],
      ["Error", (a) => (a.error ? h("span", { class: "error-text" }, a.error) : "")],
      ["Details", (a) => [
        json(a.input, "Input", `${stage}-${activities.indexOf(a)}-input`),
        a.output === undefined ? null : json(a.output, "Output", `${stage}-${activities.indexOf(a)}-output`),
      ]],
    ],
  });
}

/** The timeline of a run: `run` is `{instance, history, activities}`, `stages` its workflow's. */
export function timeline(run, stages, states) {
  const rows = new Map((run.instance.status ?? []).map((row) => [row.stage, row]));
  const history = historyOfStages(run.instance, run.history, stages);
  return h("ol", { class: "timeline" }, stages.map((stage, index) => {
    const row = rows.get(index);
    const entry = history.get(index);
    const activities = run.activities[index];
    return h("li", { class: `stage tone-${states[index].tone}`, id: `stage-${index}` },
      h("div", { class: "stage-head" }, h("h3", {}, `Stage ${index} · ${stageType(stage)}`), badge(states[index])),
      h("p", { class: "stage-what" }, describeStage(stage)),
      row ? facts([
        ["Started", when(row.startedAt)],
        ["Ended", row.terminatedAt ? when(row.terminatedAt) : null],
        ["Took", row.terminatedAt ? elapsed(row.startedAt, row.terminatedAt) : null],
      ]) : null,
      row?.error ? h("p", { class: "error stage-error" }, h("strong", {}, "Error: "), row.error) : null,
      entry ? json(entry.input, "Resolved input", `${index}-input`) : null,
      activities?.length ? activitiesTable(activities, index) : null);
  }));
}
