"""Exit codes and messages: 0 done, 1 the API refused, 2 usage, 3 nothing answered — never a traceback.

A few run as real processes (`.venv/bin/orchestration`), as a shell or a script sees them.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.client.conftest import CLIENT_VARIABLES, Cli, create_workflow
from tests.testing.oidc import OidcIssuer
from tests.testing.server import ServerProcess, free_port

COMMAND = Path(sys.executable).parent / "orchestration"


def _process(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in CLIENT_VARIABLES} | env
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=60, env=environment)


def _closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"  # bound then released: nothing listens there


@pytest.mark.parametrize(
    "args",
    [
        ["workflows", "list"],
        ["workflows", "show", "x"],
        ["instances", "show", "x", "--watch"],
        ["triggers", "list", "--all"],
    ],
    ids=lambda args: " ".join(args),
)
def test_an_unreachable_server_exits_3_and_says_where_to_point(cli: Cli, args: list[str]) -> None:
    server = _closed_port()
    result = cli(*args, "--server", server)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: cannot reach the server at {server}: ")
    assert "Point --server (ORCHESTRATION_URL) at it." in result.stderr


def test_a_server_that_does_not_answer_in_time_exits_3(cli: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections queue, nothing ever answers
        server = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = cli("workflows", "list", "--server", server, "--timeout", "0.2")
    assert result.exit_code == 3
    assert result.stderr == (
        f"Error: the server at {server} did not answer GET /workflows within --timeout (0.2 s); try again, or check "
        "its health (GET /_healthcheck)\n"
    )


def test_usage_errors_exit_2(cli: Cli, api: httpx.Client) -> None:
    workflow_id = create_workflow(api, [{"noop": {}}])
    for args, says in [
        (["workflows", "show"], "Missing argument 'ID'"),
        (["workflows", "list", "--server", "localhost:8080"], "is not an http(s) URL"),
        (["workflows", "list", "--all", "--cursor", "abc"], "--all reads from the first page"),
        (["workflows", "list", "--page-size", "0"], "--page-size"),
        (["workflows", "list", "--token", "t", "--client-id", "c"], "not both"),
        (["workflows", "list", "--client-id", "c", "--token", ""], "client credentials need --client-secret, --issuer"),
        (["workflows", "run", workflow_id, "--variable", "x"], "is not NAME=VALUE"),
        (["workflows", "create", "/no/such/file.yaml"], "No such file"),
        (["instances", "stage-history", "x", "-1"], "STAGE"),
        (["workflows", "list", "--output", "xml"], "--output"),
        (["workflows", "show", ""], "an ID cannot be empty"),
        (["workflows", "list", "--timeout", "nan"], "is not a number of seconds"),
        (["instances", "show", "x", "--interval", "inf"], "--interval"),
        # Bytes that are not UTF-8, as a shell passes them (Python reads them as lone surrogates).
        (["instances", "send-event", "x", os.fsdecode(b"go\xff")], "an argument is not UTF-8 text"),
        (["instances", "show", os.fsdecode(b"\xed\xa0\x80")], "an argument is not UTF-8 text"),
        (["workflows", "run", workflow_id, "--variable", os.fsdecode(b"k=\xff")], "an argument is not UTF-8 text"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert says in result.stderr, (args, result.stderr)


def test_an_api_error_exits_1_with_its_error_message(cli: Cli) -> None:
    result = cli("workflows", "delete", "not-a-uuid")
    assert result.exit_code == 1
    assert result.stderr == "Error: invalid workflow id 'not-a-uuid': expected a lowercase UUID (400 VALIDATION)\n"
    unknown = str(uuid.uuid4())
    result = cli("workflows", "run", unknown)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: Workflow not found (404 NOT_FOUND); `orchestration workflows list` shows what there is\n"
    )


def test_a_server_url_that_is_not_the_api_is_named_as_such(cli: Cli, server: ServerProcess) -> None:
    with OidcIssuer() as elsewhere:
        for url in (f"{server.url}/api", elsewhere.url):
            result = cli("workflows", "list", "--server", url)
            assert result.exit_code == 1
            assert result.stderr == (
                f"Error: GET {httpx.URL(url).path.rstrip('/')}/v2/workflows is not a route of the server at {url}: "
                "point --server at the orchestration service (behind a Formance gateway, "
                "https://<stack>/api/orchestration)\n"
            )


def test_real_processes_exit_with_the_documented_codes_and_no_traceback(
    server: ServerProcess, issuer: OidcIssuer
) -> None:
    token = issuer.token()
    ok = _process("workflows", "list", "--output", "json", ORCHESTRATION_URL=server.url, ORCHESTRATION_TOKEN=token)
    assert ok.returncode == 0 and ok.stdout.startswith("["), ok.stderr
    refused = _process("instances", "show", str(uuid.uuid4()), ORCHESTRATION_URL=server.url, ORCHESTRATION_TOKEN=token)
    assert refused.returncode == 1 and refused.stderr.startswith("Error: Instance not found (404 NOT_FOUND)")
    usage = _process("workflows", "run", ORCHESTRATION_URL=server.url)
    assert usage.returncode == 2 and "Missing argument" in usage.stderr
    unreachable = _process("workflows", "list", ORCHESTRATION_URL=_closed_port())
    assert unreachable.returncode == 3 and "cannot reach the server" in unreachable.stderr
    for result in (ok, refused, usage, unreachable):
        assert "Traceback" not in result.stderr + result.stdout


def test_shell_completion_source_is_produced() -> None:
    source = _process(_ORCHESTRATION_COMPLETE="bash_source")
    assert source.returncode == 0
    assert "_orchestration_completion()" in source.stdout and "complete -o nosort -F" in source.stdout
    words = _process(_ORCHESTRATION_COMPLETE="bash_complete", COMP_WORDS="orchestration workflows ", COMP_CWORD="2")
    offered = {line.split(",", 1)[1] for line in words.stdout.splitlines()}
    assert {"create", "validate", "list", "show", "delete", "run"} <= offered


class _OddServer(http.server.BaseHTTPRequestHandler):
    """Answers 200 to anything, with `data` that is a number, or with a body that does not decode."""

    def do_GET(self) -> None:  # the handler's name is http.server's
        if "history" in self.path:
            body, extra = b'{"data": {"not": "a list"}}', {}
        elif self.path.endswith("/compressed"):
            body, extra = b"this is not gzip", {"Content-Encoding": "gzip"}
        else:
            body, extra = b'{"data": 5}', {}
        self.send_response(200)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize(
    "args",
    [
        ["workflows", "show", "x"],
        ["triggers", "show", "x"],
        ["instances", "history", "x"],
        ["workflows", "show", "compressed"],
    ],
    ids=lambda args: " ".join(args),
)
def test_an_answer_of_the_wrong_shape_exits_1_and_says_so(cli: Cli, args: list[str]) -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OddServer) as odd:
        threading.Thread(target=odd.serve_forever, daemon=True).start()
        try:
            server = f"http://127.0.0.1:{odd.server_address[1]}"
            result = cli(*args, "--server", server)
        finally:
            odd.shutdown()
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: GET /") and f"is {server} an orchestration server?" in result.stderr


def test_credentials_written_into_the_server_url_stay_out_of_messages(cli: Cli) -> None:
    port = _closed_port().rsplit(":", 1)[1]
    result = cli("workflows", "list", "--server", f"http://someone:hunter2@127.0.0.1:{port}")
    assert result.exit_code == 3
    assert f"cannot reach the server at http://127.0.0.1:{port}" in result.stderr and "hunter2" not in result.output


def test_a_server_start_does_not_load_the_client() -> None:
    # The client's groups are imported when one of them runs, not by `serve` or `worker`.
    probe = (
        "import sys, orchestration.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('orchestration.client', 'rich'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
