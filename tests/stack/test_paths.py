"""An id from a stage's configuration is one path segment of the call, never more (spec §7.2)."""

from __future__ import annotations

import uuid

import pytest

from orchestration.stack import ACTIVITIES, ActivityKey, ActivityName, StackClient, StackError
from tests.testing.fake_stack import FakeStack

KEY = ActivityKey("instance", 0, 0)


@pytest.mark.parametrize("dots", [".", ".."])
@pytest.mark.parametrize(
    ("name", "request_of"),
    [
        (ActivityName.CREATE_TRANSACTION, lambda v: {"Ledger": v, "Data": {"postings": []}}),
        (ActivityName.ADD_ACCOUNT_METADATA, lambda v: {"ledger": "l", "account": v, "metadata": {}}),
        (ActivityName.GET_WALLET, lambda v: {"id": v}),
        (ActivityName.GET_PAYMENT, lambda v: {"id": v}),
    ],
)
async def test_a_dot_segment_is_refused_before_anything_is_sent(
    client: StackClient, fake_stack: FakeStack, dots: str, name: ActivityName, request_of: object
) -> None:
    ledger = f"p-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    await client.request("GET", f"/api/ledger/{ledger}/accounts/world")  # the token, fetched before counting
    sent = len(fake_stack.requests())
    assert callable(request_of)
    with pytest.raises(StackError, match="cannot name") as refused:
        await ACTIVITIES[name](client, request_of(dots), KEY)
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (400, "VALIDATION", False)
    assert len(fake_stack.requests()) == sent


@pytest.mark.parametrize("account", ["...", "a..b", "..x", "users:1", "100%", "é"])
async def test_other_ids_reach_their_own_resource(client: StackClient, fake_stack: FakeStack, account: str) -> None:
    ledger = f"p-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    request = {"ledger": ledger, "account": account, "metadata": {"k": "v"}}
    await ACTIVITIES[ActivityName.ADD_ACCOUNT_METADATA](client, request, KEY)
    assert fake_stack.account_metadata(ledger, account) == {"k": "v"}
