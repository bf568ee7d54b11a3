"""One TLS context for every client of the gateway in the process."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The CA bundle and `SSL_CERT_FILE`, as httpx trusts them for the process's other clients, made
    once: loading the bundle costs a tenth of a second of CPU."""
    return httpx.create_ssl_context()
