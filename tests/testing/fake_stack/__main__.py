"""`python -m tests.testing.fake_stack --port N`: serve a fake stack in the foreground (benchmarks, manual runs)."""

from __future__ import annotations

import argparse
import threading

from ._stack import FakeStack


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.testing.fake_stack", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--client-id", default="orchestration", help="OAuth2 client id ('' disables auth)")
    parser.add_argument("--client-secret", default="secret")
    parser.add_argument("--ledger", action="append", default=[], help="create this ledger (repeatable)")
    args = parser.parse_args(argv)
    stack = FakeStack(client_id=args.client_id or None, client_secret=args.client_secret)
    stack._port = args.port  # start() binds the port it already knows
    for name in args.ledger:
        stack.create_ledger(name)
    stack.start()
    print(f"fake stack listening on {stack.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
