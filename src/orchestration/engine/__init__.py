"""The durable engine: one DBOS workflow per instance (DESIGN §3).

A map, in the order an instance meets them:

* `_engine`: the door. `Engine` sets DBOS up in a worker and starts instances;
  `EngineClient` asks the workers to start them from an API-only process, and `_starter`
  has a worker start those asked (`_slots`: how many it has room for).
* `_instance_workflow`: the workflow itself, which runs the stages in order. Workflow
  code: replayed from the top after a crash, it touches the world only through steps.
  `_plan`: its stages resolved, and the instant ones grouped with the next to run.
* `_steps`: its durable steps: advance from stage to stage, sleep, wait for an event,
  park; and `sleep_briefly`, a short delay slept with no step. `_moves`: what advancing
  writes (stage rows, history, events, metrics). `_activity_steps`: one attempt of a
  call to the stack; `_retry`: the retry policy and the loop around those attempts.
* Parking and waking: a long wait parks the instance (`_steps`): its workflow ends and
  a row says what it waits for. `_waker` starts the continuation when the wait is over;
  `_signals` wakes the short waits held in memory.
* `_in_place`: an instance with nothing left to run but instant stages (noop) needs no
  workflow: started or woken, it is recorded and ended in one transaction (`_moves`,
  a bite of woken ones at once).
* Takeover: `_takeover` heartbeats the workers sharing PostgreSQL and resumes the
  instances of a silent one. Embedded, `_lock` keeps a data directory to one worker.
* `_runtime`: what steps reach at run time (database, wake-ups, stack client, settings).
"""

from ._engine import ENGINE_VERSION, Engine, EngineClient, migrate_engine
from ._lock import DataDirLock

__all__ = ["ENGINE_VERSION", "DataDirLock", "Engine", "EngineClient", "migrate_engine"]
