// Live updates by polling: often while what is watched changes, less and less often while it
// does not, further apart while the server cannot be reached, paused while the tab is hidden,
// and over once `tick` says it is (an instance that ended) or the page is left (`signal`).

const FASTEST = 500;
const SLOWEST = 8000;
const SLOWEST_WHEN_FAILING = 30000;

/**
 * Call `tick()` (resolving to `{changed, done}`) repeatedly until `done` or `signal` aborts.
 * `onProblem(error, retryInMs, retryNow)` hears each failure, and `onProblem(null)` the next success;
 * a failure that waiting will not cure (401, 403, 404) ends the polling.
 * Returns `{now()}`: tick at once (after an action whose effect should show quickly).
 */
function poll(tick, { signal, onProblem, slowest = SLOWEST }) {
  let delay = FASTEST;
  let timer = null;
  let busy = false;
  let failing = false;

  async function run() {
    timer = null;
    if (signal.aborted) return;
    if (document.hidden) {
      // Nobody is looking: look again as soon as the tab is shown.
      document.addEventListener("visibilitychange", () => control.now(), { once: true });
      return;
    }
    busy = true;
    try {
      const { changed, done } = await tick();
      if (failing) onProblem(null);
      failing = false;
      if (done) return;
      delay = changed ? FASTEST : Math.min(slowest, delay * 1.5);
    } catch (error) {
      if (signal.aborted || error.name === "AbortError") return;
      if (!error.transient) {
        onProblem(error, null);
        return;
      }
      failing = true;
      delay = Math.min(SLOWEST_WHEN_FAILING, Math.max(delay, FASTEST) * 2);
      onProblem(error, delay, control.now);
    } finally {
      busy = false;
    }
    schedule();
  }

  function schedule() {
    if (!signal.aborted && timer === null) timer = setTimeout(run, delay);
  }

  const control = {
    now() {
      if (busy || signal.aborted) return;
      clearTimeout(timer);
      timer = null;
      delay = FASTEST;
      run();
    },
  };
  signal.addEventListener("abort", () => clearTimeout(timer));
  schedule();
  return control;
}

/** A tick helper: whether `value` differs from what the previous call saw. */
function changeDetector() {
  let last;
  return (value) => {
    const seen = JSON.stringify(value);
    const changed = seen !== last;
    last = seen;
    return changed;
  };
}

/**
 * Load, draw, then keep the drawing current: `load()` again on each tick, `draw(value)` only
 * when it changed, until `isDone(value)`. The first load's failure is the caller's to show.
 */
export async function watch({ load, draw, isDone = () => false, ctx, slowest }) {
  const changed = changeDetector();
  const first = await load();
  changed(first);
  draw(first);
  if (isDone(first)) return { now() {} };
  return poll(async () => {
    const value = await load();
    const differs = changed(value);
    if (differs) draw(value);
    return { changed: differs, done: isDone(value) };
  }, { signal: ctx.signal, onProblem: ctx.problem, slowest });
}
