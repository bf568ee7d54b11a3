"""How a command fails, as its exit code says: 1 the API (or the issuer) refused, 3 nothing answered.

Usage errors are click's own (`click.UsageError`, exit code 2). click prints the message of each
on standard error, never a traceback.
"""

from __future__ import annotations

import click

EXIT_API_ERROR = 1
EXIT_UNREACHABLE = 3


class ApiError(click.ClickException):
    """The server or the issuer answered, and refused: the message says why and what to do."""

    exit_code = EXIT_API_ERROR


class Unreachable(click.ClickException):
    """Nothing answered at the address (connection refused, unknown host, timeout)."""

    exit_code = EXIT_UNREACHABLE
