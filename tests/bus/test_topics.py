"""Names on the bus: topic mapping, JetStream names, URLs fit for the log (pure functions)."""

from __future__ import annotations

import pytest

from orchestration.bus import map_topic
from orchestration.bus._connection import redact_url
from orchestration.bus._topics import durable_name, jetstream_name, stream_name
from orchestration.config import parse_topic_mapping


def test_without_a_mapping_a_topic_is_its_own_subject() -> None:
    assert map_topic((), "orchestration") == "orchestration"


def test_star_maps_every_topic() -> None:
    assert map_topic(("*:stack1-orchestration",), "orchestration") == "stack1-orchestration"


@pytest.mark.parametrize(
    "mapping",
    [("*:everything", "orchestration:exact"), ("orchestration:exact", "*:everything")],
    ids=["star-first", "exact-first"],
)
def test_an_exact_entry_beats_star_in_any_order(mapping: tuple[str, ...]) -> None:
    assert map_topic(mapping, "orchestration") == "exact"
    assert map_topic(mapping, "other") == "everything"


def test_a_topic_no_entry_names_is_its_own_subject() -> None:
    assert map_topic(("ledger:stack1-ledger",), "orchestration") == "orchestration"


def test_of_two_entries_for_a_topic_the_last_counts() -> None:
    assert map_topic(("orchestration:first", "orchestration:second"), "orchestration") == "second"


def test_a_target_may_hold_colons() -> None:
    assert map_topic(("*:a:b",), "orchestration") == "a:b"


@pytest.mark.parametrize("entry", ["", "orchestration", ":target", "orchestration:", ":"])
def test_invalid_mapping_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="is not a topic mapping from:to"):
        parse_topic_mapping(entry)


def test_names_replace_what_jetstream_refuses() -> None:
    assert jetstream_name("a.b*c>d e/f\\g\th") == "a_b_c_d_e_f_g_h"
    assert jetstream_name("stack1-ledger") == "stack1-ledger"


def test_a_stream_is_named_after_its_subject() -> None:
    assert stream_name("stack1-ledger") == "stack1-ledger"  # as the original names them
    assert stream_name("stack1.ledger") == "stack1_ledger"


def test_a_durable_is_named_after_the_queue_group_and_the_topic() -> None:
    assert durable_name("orchestration", "stack1-ledger") == "orchestration_stack1-ledger"
    assert durable_name("my group", "stack1.ledger") == "my_group_stack1_ledger"
    assert durable_name("g", "a") != durable_name("g", "b")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://user:secret@nats.example:4222", "nats://nats.example:4222"),
        ("nats://token@nats.example:4222", "nats://nats.example:4222"),
        ("tls://nats.example:4222", "tls://nats.example:4222"),
        ("nats.example:4222", "nats://nats.example:4222"),
        ("nats://u:p@[::1]:4222", "nats://[::1]:4222"),
    ],
)
def test_urls_lose_their_credentials_before_the_log(url: str, shown: str) -> None:
    assert redact_url(url) == shown
