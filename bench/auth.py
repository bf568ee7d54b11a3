"""What bearer-token authentication costs per request, against the same requests without it.

    .venv/bin/python -m bench.auth [--requests 2000] [--quick]

Three servers' worth of the same `GET /v2/workflows?pageSize=1`, sequential on one kept-alive
connection, on embedded SQLite: auth off (the floor of this run), auth on with one token reused
(verified once, then remembered), and auth on with a new token for every request (a signature
check each time). Prints per-request latency and server CPU for each, next to the floor, and
the machine's load; asserts nothing. Tokens come from the tests' local OpenID issuer.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.testing.oidc import OidcIssuer

from ._client import LOAD_CLIENT_LINE
from ._harness import fmt_latency, load, percentiles, run_to_summary, say
from ._runs import new_client
from ._server import BenchServer


async def measure(server: BenchServer, tokens: Callable[[int], str | None], count: int) -> dict[str, Any]:
    latencies = []
    async with new_client(server.url, 1) as client:
        for n in range(20):  # warm-up: connection, caches, the issuer's keys
            await client.get("/v2/workflows", params={"pageSize": 1}, headers=_auth(tokens(-1 - n)))
        before = server.stats().cpu_s
        for n in range(count):
            headers = _auth(tokens(n))
            started = time.perf_counter()
            response = await client.get("/v2/workflows", params={"pageSize": 1}, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
        cpu_ms = (server.stats().cpu_s - before) * 1000 / count
    return {"latency_ms": percentiles(latencies), "server_cpu_ms": cpu_ms}


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def main(count: int) -> dict[str, Any]:
    say(f"{count} sequential GET /v2/workflows per case ({load()})")
    say(LOAD_CLIENT_LINE)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="orchestration-bench-auth-") as work, OidcIssuer() as issuer:
        one = issuer.token(expires_in=3600)
        fresh = [issuer.token(expires_in=3600, sub=f"caller-{n}") for n in range(count + 20)]
        cases: list[tuple[str, list[str], Callable[[int], str | None]]] = [
            ("auth off", [], lambda n: None),
            ("auth on, one token reused", ["--auth-enabled", "--auth-issuer", issuer.url], lambda n: one),
            ("auth on, a new token each time", ["--auth-enabled", "--auth-issuer", issuer.url], lambda n: fresh[n]),
        ]
        for name, flags, tokens in cases:
            server = BenchServer(data_dir=Path(work) / name.replace(" ", "-").replace(",", ""), extra_args=flags)
            server.start()
            try:
                results[name] = await measure(server, tokens, count)
            finally:
                server.stop()
            say(f"{name}: {fmt_latency(results[name]['latency_ms'])}, "
                f"server CPU {results[name]['server_cpu_ms']:.2f} ms per request")
    floor = results["auth off"]
    for name in list(results)[1:]:
        extra = results[name]["server_cpu_ms"] - floor["server_cpu_ms"]
        say(f"{name}: {extra:+.2f} ms of server CPU per request against auth off ({load()})")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 requests per case")
    arguments = parser.parse_args()
    run_to_summary(main(200 if arguments.quick else arguments.requests))
