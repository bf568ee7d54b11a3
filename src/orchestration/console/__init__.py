"""The web console: static pages under `/ui` that speak only the public v2 API, from the browser."""

from ._mount import CONSOLE_PATH, ConsoleMount, console_app

__all__ = ["CONSOLE_PATH", "ConsoleMount", "console_app"]
