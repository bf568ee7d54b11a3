"""One TLS context for every client of the gateway in the process."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """What httpx would make for each client (the CA bundle, `SSL_CERT_FILE`), made once: loading
    the bundle costs a tenth of a second of CPU, at start-up and at each token request."""
    return httpx.create_ssl_context()
