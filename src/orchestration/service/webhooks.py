"""Signed Formance webhooks in (`POST /v2/webhooks`): triggers without a bus.

The Formance Webhooks service signs each delivery with the headers `formance-webhook-id`,
`formance-webhook-timestamp` (unix seconds) and `formance-webhook-signature`: space-separated
`v1,<base64 HMAC-SHA256>` entries, the MAC taken over `<id>.<timestamp>.<raw body>` with the
shared secret's bytes. Several secrets may be configured (rotation): any one that verifies is
enough. A delivery is dispatched like a bus message, named by the event's `idempotency_key`,
else by the webhook id: a replay (or a retry) of the same delivery starts nothing again, and
neither does the same event received from the bus too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta

from orchestration.errors import NotFound, Unauthorized, ValidationFailed

from .dispatch import DispatchOutcome, MalformedEvent, TriggerDispatcher, decode_envelope, message_key

TOLERANCE = timedelta(minutes=5)
"""How far a delivery's timestamp may be from now, either way."""

ID_HEADER = "formance-webhook-id"
TIMESTAMP_HEADER = "formance-webhook-timestamp"
SIGNATURE_HEADER = "formance-webhook-signature"


@dataclass(frozen=True)
class Delivery:
    """A webhook as received: its three signing headers (as sent: raw bytes) and its raw body."""

    webhook_id: bytes
    timestamp: bytes
    signatures: bytes
    body: bytes


def sign(secret: str, webhook_id: bytes, timestamp: int, body: bytes) -> bytes:
    """The `v1,<base64>` signature of a delivery (what the Webhooks service sends)."""
    mac = hmac.new(secret.encode(), webhook_id + f".{timestamp}.".encode() + body, hashlib.sha256)
    return b"v1," + base64.b64encode(mac.digest())


class WebhookReceiver:
    def __init__(self, secrets: tuple[str, ...], dispatcher: TriggerDispatcher) -> None:
        self._secrets = secrets
        self._dispatcher = dispatcher

    async def receive(self, delivery: Delivery) -> DispatchOutcome:
        """Verify a delivery, then dispatch it; `Unauthorized` when it is not signed by us."""
        if not self._secrets:
            raise NotFound("webhooks are not enabled on this server (no --webhooks-secret)")
        self._verify(delivery)
        try:
            envelope = decode_envelope(delivery.body)
        except MalformedEvent as exc:
            raise ValidationFailed(f"the webhook is no Formance event: {exc}") from None
        webhook_key = "webhook:" + delivery.webhook_id.decode("latin-1")
        return await self._dispatcher.dispatch(envelope, key=message_key(envelope, otherwise=webhook_key))

    def _verify(self, delivery: Delivery) -> None:
        stamp, offered = delivery.timestamp, delivery.signatures.split()
        if not delivery.webhook_id or not stamp or not offered:
            raise Unauthorized(f"unsigned webhook: {ID_HEADER}, {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
        if not (stamp.isdigit() and len(stamp) <= 12):
            raise Unauthorized(f"invalid {TIMESTAMP_HEADER}: expected unix seconds")
        if abs(time.time() - int(stamp)) > TOLERANCE.total_seconds():
            raise Unauthorized(f"stale webhook: its timestamp is more than {TOLERANCE} away from now")
        expected = [sign(secret, delivery.webhook_id, int(stamp), delivery.body) for secret in self._secrets]
        # Every pair compared, in constant time each: no early exit tells which one was close.
        valid = False
        for signature in offered:
            for candidate in expected:
                valid |= hmac.compare_digest(signature, candidate)
        if not valid:
            raise Unauthorized("invalid webhook signature")
