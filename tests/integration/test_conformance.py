"""The official-SDK conformance suite (`../shared/conformance`) against a server
started as the README says (embedded SQLite, defaults)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.testing.oidc import OidcIssuer
from tests.testing.server import ServerProcess
from tests.testing.shared import shared_dir

EVERY_TEST = 43
"""The suite's size: all of it must run and pass, trigger tests included."""


@pytest.mark.parametrize("auth", [False, True], ids=["open", "with-auth"])
def test_official_sdk_conformance_suite_passes(tmp_path: Path, auth: bool) -> None:
    """As the README starts it; and with auth on, scopes checked, the SDK sending a token."""
    suite = shared_dir() / "conformance"
    with OidcIssuer() as issuer:
        token = issuer.token(expires_in=3600) if auth else ""
        flags = issuer.server_args() if auth else []
        server = ServerProcess(data_dir=tmp_path / "data", extra_args=flags).start()
        try:
            result = _run_suite(suite, server, token, tmp_path)
        finally:
            server.stop()
    report = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) == EVERY_TEST, report
    assert "failed" not in result.stdout.splitlines()[-1], report


def _run_suite(suite: Path, server: ServerProcess, token: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        env={**os.environ, "ORCH_URL": server.url, "ORCH_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )
