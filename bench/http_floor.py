"""The activity floor: the ledger call a `send` makes, as a bare HTTP request.

Run by `bench.money` in a process of its own (the server under test must not share its CPU
figure with it):

    .venv/bin/python -m bench.http_floor --url http://127.0.0.1:PORT --ledger bench --count 500

It fetches one token with client credentials, then posts `count` transactions of the same
shape as a `send` stage's (`--concurrency` in flight, each with its own idempotency key) on
one aiohttp session (connections kept alive), and prints one JSON line: {"count", "wall_s",
"cpu_s"}; CPU is this whole process's, all threads.

aiohttp, as the server's ledger client (orchestration.stack), bare: bench.money subtracts this
floor from the server's CPU per activity, so both sides of that difference must spend what the
same library spends on the request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import aiohttp

TOKEN_PATH = "/api/auth/oauth/token"


async def main(url: str, ledger: str, count: int, concurrency: int, client_id: str, secret: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        async with session.post(url + TOKEN_PATH, data=form) as answer:
            token = (await answer.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        gate = asyncio.Semaphore(concurrency)

        async def post(_: int) -> None:
            body = {
                "postings": [{"source": "world", "destination": "bank", "amount": 100, "asset": "USD/2"}],
                "metadata": {},
            }
            async with gate:
                async with session.post(
                    f"{url}/api/ledger/v2/{ledger}/transactions",
                    data=json.dumps(body).encode(),
                    headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                ) as res:
                    res.raise_for_status()
                    json.loads(await res.read())

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(post(n) for n in range(count)))
        return {"count": count, "wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.http_floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--client-id", default="orchestration")
    parser.add_argument("--client-secret", default="secret")
    args = parser.parse_args()
    result = asyncio.run(main(args.url, args.ledger, args.count, args.concurrency, args.client_id, args.client_secret))
    print(json.dumps(result), flush=True)
