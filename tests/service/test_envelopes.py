"""Formance event envelopes as dispatch reads them (spec §11.2, Q-47), and the keys that name them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.service import MalformedEvent, decode_envelope, message_key
from orchestration.service.dispatch import content_key, instance_id_for

DATE = "2024-05-02T10:11:12.123456Z"


def test_only_the_six_keys_are_kept_and_missing_ones_are_empty() -> None:
    raw = json.dumps({"date": DATE, "type": "SAVED_PAYMENT", "payload": {"id": "p"}, "ledger": "x", "extra": 1})
    envelope = decode_envelope(raw.encode())
    assert envelope.stored() == {
        "idempotency_key": "", "date": DATE, "app": "", "version": "", "type": "SAVED_PAYMENT", "payload": {"id": "p"},
    }


@pytest.mark.parametrize(
    "body",
    [
        b"", b"not json", b"[]", b"null", b'{"date": "' + DATE.encode() + b'"}',
        b'{"type": "", "date": "' + DATE.encode() + b'"}',
        b'{"type": "X", "date": "yesterday"}', b'{"type": "X"}',
        b'{"type": 5, "date": "' + DATE.encode() + b'"}',
        b'{"type": "X", "version": ["v2"], "date": "' + DATE.encode() + b'"}',
        b"[" * 100_000,
    ],
)
def test_what_is_no_envelope_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        decode_envelope(body)


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_decode_or_are_malformed(raw: bytes) -> None:
    try:
        decode_envelope(raw)
    except MalformedEvent:
        pass


def bus_key(raw: bytes) -> str:
    return message_key(decode_envelope(raw), otherwise=content_key(raw))


def test_a_message_is_named_by_its_idempotency_key_else_by_its_bytes() -> None:
    keyed = json.dumps({"idempotency_key": "k", "date": DATE, "type": "X"}).encode()
    assert bus_key(keyed) == "k"
    plain = json.dumps({"date": DATE, "type": "X", "payload": {"n": 1}}).encode()
    other = json.dumps({"date": DATE, "type": "X", "payload": {"n": 2}}).encode()
    assert bus_key(plain) == bus_key(plain)
    assert bus_key(plain) != bus_key(other)


def test_instance_ids_are_uuids_of_trigger_and_message() -> None:
    first = instance_id_for("t1", "k")
    assert first == instance_id_for("t1", "k")
    assert len({first, instance_id_for("t2", "k"), instance_id_for("t1", "k2")}) == 3
    assert first.count("-") == 4 and first == first.lower()


@pytest.mark.parametrize(
    "payload",
    [b'"\\u0000"', b'"\\ud800"', b'{"\\u0000": 1}', b"1e999", b"NaN", b"[" * 65 + b"]" * 65],
    ids=["nul", "surrogate", "nul-key", "infinite", "nan", "too-deep"],
)
def test_a_payload_that_could_not_be_stored_is_malformed(payload: bytes) -> None:
    # An occurrence keeps the envelope: what the database cannot hold would fail every delivery.
    with pytest.raises(MalformedEvent):
        decode_envelope(b'{"type": "X", "date": "' + DATE.encode() + b'", "payload": ' + payload + b"}")
