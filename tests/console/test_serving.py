"""The console over plain HTTP: every page path answers its HTML under a strict
Content-Security-Policy, assets come with their content types, and nothing in them writes
HTML from strings or reaches beyond the server."""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest

from tests.testing.server import ServerProcess

PAGES = [
    "/ui", "/ui/", "/ui/workflows", "/ui/workflows/some-id", "/ui/instances", "/ui/instances/some-id",
    "/ui/triggers", "/ui/triggers/some-id",
]  # fmt: skip
ASSETS = resources.files("orchestration.console").joinpath("assets")


def asset_texts() -> dict[str, str]:
    return {entry.name: entry.read_text() for entry in ASSETS.iterdir() if entry.is_file()}


def assert_strict_policy(res: httpx.Response) -> None:
    policy = {d.split()[0]: d.split()[1:] for d in res.headers["content-security-policy"].split("; ")}
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"], policy
    assert not any("unsafe" in source for sources in policy.values() for source in sources), policy
    assert policy["require-trusted-types-for"] == ["'script'"], policy
    assert res.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_path_answers_the_console_under_a_strict_policy(client: httpx.Client, path: str) -> None:
    res = client.get(path)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/ui/assets/app.js"></script>' in res.text
    assert_strict_policy(res)


def test_assets_are_served_with_their_content_types(client: httpx.Client) -> None:
    expected = {"app.js": "text/javascript", "console.css": "text/css", "icon.svg": "image/svg+xml"}
    for name, content_type in expected.items():
        res = client.get(f"/ui/assets/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith(content_type), (name, res.headers)
        assert_strict_policy(res)
    assert client.head("/ui/assets/app.js").status_code == 200


def test_every_module_imported_is_served(client: httpx.Client) -> None:
    imported = {name for text in asset_texts().values() for name in re.findall(r'from "\./([\w-]+\.js)"', text)}
    assert {"api.js", "dom.js", "page-instance.js"} <= imported
    for name in imported:
        res = client.get(f"/ui/assets/{name}")
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript"), name


def test_unknown_paths_are_not_found_and_only_reads_are_allowed(client: httpx.Client) -> None:
    assert client.get("/ui/assets/nothing.js").status_code == 404
    assert client.get("/ui/assets/..%2Fapp.js").status_code == 404
    unknown = client.get("/ui/no/such/page")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert_strict_policy(unknown)  # the console itself, which says so
    assert client.post("/ui/workflows").status_code == 405


def test_the_console_never_turns_strings_into_html_nor_loads_anything_from_elsewhere() -> None:
    texts = asset_texts()
    for name, text in texts.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in text, f"{name} uses {sink}"
        urls = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, f"{name} refers to {urls}"
    html = texts["index.html"]
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/ui/assets/app.js">']
    assert " style=" not in html and "<style" not in html


def test_the_api_stays_where_it_was(console_server: ServerProcess, client: httpx.Client) -> None:
    assert client.get("/v2/workflows").status_code == 200
    assert client.get("/_info").status_code == 200
    assert client.get("/uix").status_code == 404  # only /ui and what is under it
