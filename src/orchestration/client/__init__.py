"""The command-line client of the v2 API: `orchestration workflows | instances | triggers …`.

It speaks only the public API (`{server}/v2`), with a bearer token when one is given or fetched
with client credentials, so it works against any compatible server. Each command prints tables
for people, or with `--output json` exactly the API's `data` for scripts. Exit codes: 0 done,
1 the API refused (its `errorMessage` printed), 2 usage, 3 the server could not be reached.
"""

from __future__ import annotations

from orchestration.client.instances import instances
from orchestration.client.triggers import triggers
from orchestration.client.workflows import workflows

__all__ = ["instances", "triggers", "workflows"]
