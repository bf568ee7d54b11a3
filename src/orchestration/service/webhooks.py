"""Signed Formance webhooks in (`POST /v2/webhooks`): triggers without a bus.

The Formance Webhooks service signs each delivery with the headers `formance-webhook-id`,
`formance-webhook-timestamp` (unix seconds) and `formance-webhook-signature`: space-separated
`v1,<base64 HMAC-SHA256>` entries, the MAC taken over `<id>.<timestamp>.<raw body>` with the
shared secret's bytes. Several secrets may be configured (rotation): any one that verifies is
enough. A delivery is dispatched like a bus message whose key is the webhook id, so a replay
(or a retry) of the same delivery starts nothing again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import timedelta

from orchestration.errors import NotFound, Unauthorized, ValidationFailed

from .dispatch import DispatchOutcome, MalformedEvent, TriggerDispatcher, decode_envelope

TOLERANCE = timedelta(minutes=5)
"""How far a delivery's timestamp may be from now, either way."""

ID_HEADER = "formance-webhook-id"
TIMESTAMP_HEADER = "formance-webhook-timestamp"
SIGNATURE_HEADER = "formance-webhook-signature"


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of a delivery (what the Webhooks service sends)."""
    mac = hmac.new(secret.encode(), f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class WebhookReceiver:
    def __init__(self, secrets: tuple[str, ...], dispatcher: TriggerDispatcher) -> None:
        self._secrets = secrets
        self._dispatcher = dispatcher

    async def receive(self, headers: Mapping[str, str], body: bytes) -> DispatchOutcome:
        """Verify a delivery, then dispatch it; `Unauthorized` when it is not signed by us."""
        if not self._secrets:
            raise NotFound("webhooks are not enabled on this server (no --webhooks-secret)")
        webhook_id = self._verify(headers, body)
        try:
            envelope = decode_envelope(body)
        except MalformedEvent as exc:
            raise ValidationFailed(f"the webhook is no Formance event: {exc}") from None
        return await self._dispatcher.dispatch(envelope, key=f"webhook:{webhook_id}")

    def _verify(self, headers: Mapping[str, str], body: bytes) -> str:
        webhook_id = headers.get(ID_HEADER, "")
        stamp = headers.get(TIMESTAMP_HEADER, "")
        offered = headers.get(SIGNATURE_HEADER, "").split()
        if not webhook_id or not stamp or not offered:
            raise Unauthorized(f"unsigned webhook: {ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise Unauthorized(f"invalid {TIMESTAMP_HEADER}: expected unix seconds")
        if abs(time.time() - int(stamp)) > TOLERANCE.total_seconds():
            raise Unauthorized(f"stale webhook: its timestamp is more than {TOLERANCE} away from now")
        expected = [sign(secret, webhook_id, int(stamp), body).encode() for secret in self._secrets]
        # Every pair compared, in constant time each: no early exit tells which one was close.
        valid = False
        for signature in offered:
            for candidate in expected:
                valid |= hmac.compare_digest(signature.encode(), candidate)
        if not valid:
            raise Unauthorized("invalid webhook signature")
        return webhook_id
