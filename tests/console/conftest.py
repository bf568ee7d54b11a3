"""Fixtures of the console's tests: Debian's Chromium driven by Playwright (one browser for the
package, a fresh context per test) and a real server connected to the fake Formance gateway.

Without /usr/bin/chromium the browser tests are skipped, except on CI (`CI` set), where they
fail: CI must never pass without having run them (`.ci/install-system-deps` installs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import FAST_RETRIES, WEBHOOK_SECRETS
from tests.testing.fake_stack import FakeStack
from tests.testing.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LAPTOP = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).parent / "artifacts"
"""Screenshots the tests take (git-ignored)."""

# Every wait for a state in the page has this bound: live updates poll with a back-off of up
# to 8 s between two reads of an unchanging state.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium, for the package's tests: Playwright's sync API keeps an event loop running in
    this thread until it stops, and no async test may run meanwhile (tests/conftest.py runs this
    package's tests one after the other on one worker)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (.ci/install-system-deps)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own (its own session storage), failing the test on any
    script error or Content-Security-Policy violation."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(message.text) if _is_violation(message.text) else None)
    yield page
    context.close()
    assert not problems, problems


def _is_violation(text: str) -> bool:
    return "Content Security Policy" in text or "Trusted Type" in text


@pytest.fixture(scope="session")
def console_server(fake_stack: FakeStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server without auth on SQLite, connected to the fake gateway, taking signed webhooks."""
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("console"),
        extra_args=[*fake_stack.server_args(), *FAST_RETRIES, "--webhooks-secret", WEBHOOK_SECRETS[0]],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(console_server: ServerProcess) -> Iterator[httpx.Client]:
    with console_server.client() as client:
        yield client


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as `artifacts/<name>.png` and say where."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
