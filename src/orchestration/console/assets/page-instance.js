// `/ui/instances/{id}`: one run, live until it ends: its state, its stages and their activities,
// and the two things one can do to a running instance: send it an event, abort it.

import { api } from "./api.js";
import { confirmAction } from "./confirm.js";
import { h, replace } from "./dom.js";
import { flow } from "./flow.js";
import { elapsed, instanceState, shortId, stageType, when, workflowName } from "./format.js";
import { watch } from "./poller.js";
import { paths } from "./routes.js";
import { stageStates, timeline } from "./timeline.js";
import { badge, facts, outcome, redraw, section } from "./widgets.js";

const NO_ACTIVITIES = new Set(["noop", "delay", "wait_event"]);

/** The instance, its workflow, its history, and the activities of its stages that have some. */
async function loadRun(id, ended, signal) {
  const [instance, history] = await Promise.all([api.getInstance(id, signal), api.instanceHistory(id, signal)]);
  const workflow = instance.workflow ?? (await api.getWorkflow(instance.workflowID, signal));
  const stages = workflow.config?.stages ?? [];
  const activities = {};
  const withActivities = (instance.status ?? []).filter((row) => !NO_ACTIVITIES.has(stageType(stages[row.stage])));
  await Promise.all(withActivities.map(async (row) => {
    if (ended.has(row.stage)) {
      activities[row.stage] = ended.get(row.stage);
      return;
    }
    let list = [];
    try {
      list = await api.stageHistory(id, row.stage, signal);
    } catch (error) {
      if (error.kind !== "notFound") throw error; // a stage that failed before it ran has none
    }
    activities[row.stage] = list;
    if (row.terminatedAt) ended.set(row.stage, list); // an ended stage's activities change no more
  }));
  return { instance, workflow, history, activities };
}

export async function render(main, route, ctx) {
  ctx.title(`Instance ${shortId(route.id)}`);
  const status = h("p", { class: "status-line", role: "status" });
  const summary = h("div");
  const actions = h("div");
  const drawing = h("div");
  const stagesView = h("div");
  replace(main,
    h("h1", { tabindex: "-1" }, "Instance ", h("code", { class: "instance-id" }, route.id)),
    status, summary,
    section("Actions", actions),
    section("Flow", drawing),
    section("Stages", stagesView));
  let poller = null;
  const refresh = () => poller?.now();
  const controls = actionControls(route.id, ctx, refresh);
  const ended = new Map();

  const draw = (run) => {
    const { instance, workflow } = run;
    const stages = workflow.config?.stages ?? [];
    const states = stageStates(run, stages);
    replace(status, badge(instanceState(instance)), " ",
      h("span", { class: "live" }, instance.terminated ? "Final state" : "Updating live"));
    replace(summary, facts([
      ["Workflow", h("a", { href: paths.workflow(instance.workflowID) }, workflowName(workflow))],
      ["Started", when(instance.createdAt)],
      ["Ended", instance.terminatedAt ? when(instance.terminatedAt) : null],
      ["Took", instance.terminatedAt ? elapsed(instance.createdAt, instance.terminatedAt) : null],
      ["Stages", `${(instance.status ?? []).length} of ${stages.length} started`],
      ["Error", instance.error ? h("span", { class: "error-text instance-error" }, instance.error) : null],
    ]));
    if (instance.terminated) {
      replace(actions, h("p", {}, "This instance has ended: it takes no more events and cannot be aborted."));
    } else {
      if (!actions.contains(controls.element)) replace(actions, controls.element);
      controls.suggest(waitedEvent(run, stages));
    }
    replace(drawing, flow(stages, states));
    redraw(stagesView, timeline(run, stages, states));
  };
  const load = () => loadRun(route.id, ended, ctx.signal);
  poller = await watch({ ctx, draw, load, isDone: (run) => run.instance.terminated });
}

/** The event the running `wait_event` stage waits for, if the instance is at one. */
function waitedEvent({ instance, history }, stages) {
  const running = (instance.status ?? []).find((row) => !row.terminatedAt);
  if (!running || stageType(stages[running.stage]) !== "wait_event") return "";
  const resolved = history.find((entry) => entry.name === "RunWaitEvent" && !entry.terminated);
  return resolved?.input?.event ?? stages[running.stage].wait_event?.event ?? "";
}

/** The event form and the abort button, built once so that what is typed survives updates. */
function actionControls(instanceId, ctx, refresh) {
  const said = outcome();
  const name = h("input", {
    id: "event-name", name: "event", required: true, autocomplete: "off", "aria-describedby": "event-help",
  });
  const send = async (event) => {
    event.preventDefault();
    try {
      await api.sendEvent(instanceId, name.value);
      said.say(`Event “${name.value}” sent.`);
      refresh();
    } catch (error) {
      ctx.actionFailed(error, said);
    }
  };
  const abort = async () => {
    const sure = await confirmAction({
      title: "Abort this instance?",
      message: "Its running stage is cancelled and no further stage runs. This cannot be undone.",
      confirm: "Abort instance",
      cancel: "Keep it running",
    });
    if (!sure) return said.say("Not aborted.");
    try {
      await api.abortInstance(instanceId);
      said.say("Abort requested.");
      refresh();
    } catch (error) {
      ctx.actionFailed(error, said);
    }
  };
  const element = h("div", { class: "actions-panel" },
    h("form", { class: "event-form", onsubmit: send },
      h("label", { for: "event-name" }, "Event name"),
      h("div", { class: "inline" }, name, h("button", { type: "submit" }, "Send event")),
      h("p", { id: "event-help", class: "help" },
        "Delivered to the running stage: a wait_event stage waiting for this name moves on.")),
    h("div", { class: "abort" }, h("button", { type: "button", class: "danger", onclick: abort }, "Abort…")),
    said.element);
  let suggested = "";
  return {
    element,
    suggest(eventName) {
      // Fill in the awaited name unless the user typed something else.
      if (name.value === suggested && document.activeElement !== name) {
        name.value = eventName;
        suggested = eventName;
      }
    },
  };
}
