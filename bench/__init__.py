"""Benchmarks of `orchestration serve`, run as modules from the repository root.

    .venv/bin/python -m bench.core [--quick]    # throughput, floor, idle cost, resume
    .venv/bin/python -m bench.money [--quick]   # cost of a ledger call per activity

See bench/README.md. Modules starting with `_` are the shared harness and the measures.
"""
