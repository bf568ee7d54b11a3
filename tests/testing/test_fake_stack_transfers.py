"""The fake Payments' connectors and transfer initiations, over real HTTP with httpx."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.testing.fake_stack import FakeStack

URL = "/api/payments/transfer-initiations"
WISE_REF = "0f3d8d1e-6a59-4bd3-9b0a-3c2d7f1e2a10"
Accepted = Callable[[], list[dict[str, Any]]]  # the bodies accepted since the test started


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def body(reference: str = "inst-1-00", **changes: Any) -> dict[str, Any]:
    """A body as the orchestration sends it (FLOWS-2026 §22.2), keys in its order."""
    sent: dict[str, Any] = {"amount": 500, "asset": "EUR/2", "description": "wise PAYOUT",
                            "destinationAccountID": "recipient-789", "metadata": {"k": "v"}, "provider": "WISE",
                            "reference": reference, "scheduledAt": "0001-01-01T00:00:00Z",
                            "sourceAccountID": "wise-account-456", "type": "PAYOUT", "validated": True}
    sent.update(changes)
    return {k: v for k, v in sent.items() if v is not ...}


@pytest.fixture(scope="module")
def _stack() -> Iterator[FakeStack]:
    with FakeStack(client_id=None, connectors=()) as s:
        yield s


@pytest.fixture
def stack(_stack: FakeStack) -> Iterator[FakeStack]:
    """The module's stack, without connectors at the start of each test (they are global to a stack).

    Transfer initiations of earlier tests stay, but under other connectors' ids: no reference clashes.
    """
    yield _stack
    for connector_id in _stack.connectors():
        _stack.uninstall_connector(connector_id)
    _stack.clear_requests()


@pytest.fixture(scope="module")
def http(_stack: FakeStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_stack.url, timeout=5) as client:
        yield client


@pytest.fixture
def accepted(stack: FakeStack) -> Accepted:
    before = len(stack.transfer_initiations())
    return lambda: stack.transfer_initiations()[before:]


def validation(message: str) -> dict[str, str]:
    return {"errorCode": "VALIDATION", "errorMessage": message}


# -- connectors ------------------------------------------------------------------------------------------------


def test_connector_ids_are_built_like_the_service_builds_them(stack: FakeStack) -> None:
    cid = stack.install_connector("WISE", reference=WISE_REF)
    assert cid == b64(f'{{"Provider":"WISE","Reference":"{WISE_REF}"}}')
    assert stack.connectors() == {cid: "WISE"}
    assert stack.transfer_initiation_id("r-1", cid) == b64(
        f'{{"ConnectorID":{{"Provider":"WISE","Reference":"{WISE_REF}"}},"Reference":"r-1"}}')
    with pytest.raises(ValueError, match="unknown connector provider"):
        stack.install_connector("wise")


def test_a_default_stack_has_one_stripe_connector() -> None:
    assert list(FakeStack().connectors().values()) == ["STRIPE"]


# -- creation --------------------------------------------------------------------------------------------------


def test_create_by_connector_id(stack: FakeStack, http: httpx.Client, accepted: Accepted) -> None:
    cid = stack.install_connector("WISE", reference=WISE_REF)
    stack.install_connector("WISE")  # a second one: the id decides, not the provider
    sent = body(connectorID=cid, provider="STRIPE")  # provider is ignored when connectorID is given
    r = http.post(URL, json=sent)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert list(data) == ["id", "reference", "createdAt", "scheduledAt", "description", "sourceAccountID",
                          "destinationAccountID", "connectorID", "type", "amount", "initialAmount", "asset",
                          "status", "error", "metadata"]
    assert data["id"] == stack.transfer_initiation_id("inst-1-00", cid)
    assert {k: data[k] for k in ("reference", "scheduledAt", "connectorID", "type", "amount", "initialAmount",
                                 "asset", "status", "error", "metadata", "description", "sourceAccountID",
                                 "destinationAccountID")} == {
        "reference": "inst-1-00", "scheduledAt": "0001-01-01T00:00:00Z", "connectorID": cid, "type": "PAYOUT",
        "amount": 500, "initialAmount": 500, "asset": "EUR/2", "status": "VALIDATED", "error": "",
        "metadata": {"k": "v"}, "description": "wise PAYOUT", "sourceAccountID": "wise-account-456",
        "destinationAccountID": "recipient-789"}
    assert accepted() == [sent]


def test_create_by_provider_with_one_connector(stack: FakeStack, http: httpx.Client) -> None:
    cid = stack.install_connector("BANKING-CIRCLE")
    r = http.post(URL, json=body(provider="BANKING-CIRCLE", validated=False, amount=2**70))
    assert r.status_code == 200
    data = r.json()["data"]
    assert (data["connectorID"], data["status"], data["amount"]) == (cid, "WAITING_FOR_VALIDATION", 2**70)


def test_provider_resolution_errors(stack: FakeStack, http: httpx.Client, accepted: Accepted) -> None:
    assert http.post(URL, json=body()).json() == validation("no connector found for provider WISE: validation error")
    stack.install_connector("WISE")
    stack.install_connector("WISE")
    assert http.post(URL, json=body()).json() == validation(
        "multiple connectors found for provider WISE: validation error")
    for provider in ("PAYPAL", "wise", "", ...):
        r = http.post(URL, json=body(provider=provider))
        assert (r.status_code, r.json()) == (400, validation("unknown connector provider: validation error"))
    assert accepted() == []


def test_uninstalling_leaves_no_connector(stack: FakeStack, http: httpx.Client) -> None:
    cid = stack.install_connector("WISE")
    stack.uninstall_connector(cid)
    assert http.post(URL, json=body()).json()["errorMessage"].startswith("no connector found")
    with pytest.raises(KeyError):
        stack.uninstall_connector(cid)


def test_connector_id_errors(stack: FakeStack, http: httpx.Client) -> None:
    unknown = b64(f'{{"Provider":"WISE","Reference":"{WISE_REF}"}}')
    assert http.post(URL, json=body(connectorID=unknown)).json() == validation(
        f"connector {unknown} is not installed: validation error")
    assert http.post(URL, json=body(connectorID="abc!")).json() == validation(
        "illegal base64 data at input byte 3: validation error")
    bad_uuid = b64('{"Provider":"WISE","Reference":"nope"}')
    assert http.post(URL, json=body(connectorID=bad_uuid)).json() == validation(
        "invalid UUID length: 4: validation error")


@pytest.mark.parametrize(("changes", "status", "answer"), [
    ({"reference": ""}, 400, validation("reference is required")),
    ({"reference": ...}, 400, validation("reference is required")),
    ({"type": "WIRE"}, 400, validation("invalid type")),
    ({"type": "payout"}, 400, validation("invalid type")),  # compared exactly
    ({"amount": ...}, 400, validation("amount is required")),
    ({"amount": None}, 400, validation("amount is required")),
    ({"asset": ""}, 400, validation("asset is required")),
    ({"amount": "500"}, 400, {"errorCode": "MISSING_OR_INVALID_BODY",
                              "errorMessage": 'math/big: cannot unmarshal "\\"500\\"" into a *big.Int'}),
    ({"validated": "yes"}, 400, {"errorCode": "MISSING_OR_INVALID_BODY", "errorMessage": (
        "json: cannot unmarshal string into Go struct field CreateTransferInitiationRequest.validated of type "
        "bool")}),
    ({"scheduledAt": 0}, 400, {"errorCode": "MISSING_OR_INVALID_BODY",
                               "errorMessage": "Time.UnmarshalJSON: input is not a JSON string"}),
])
def test_invalid_requests(stack: FakeStack, http: httpx.Client, changes: dict[str, Any], status: int,
                          answer: dict[str, str], accepted: Accepted) -> None:
    stack.install_connector("WISE")
    r = http.post(URL, json=body(**changes))
    assert (r.status_code, r.json()) == (status, answer)
    assert accepted() == []


@pytest.mark.parametrize(("raw", "status", "answer"), [
    (b"", 400, {"errorCode": "MISSING_OR_INVALID_BODY", "errorMessage": "EOF"}),
    (b"[]", 400, {"errorCode": "MISSING_OR_INVALID_BODY", "errorMessage": (
        "json: cannot unmarshal array into Go value of type service.CreateTransferInitiationRequest")}),
    (b"{", 400, {"errorCode": "MISSING_OR_INVALID_BODY", "errorMessage": "unexpected EOF"}),
    (b"x", 400, {"errorCode": "MISSING_OR_INVALID_BODY",
                 "errorMessage": "invalid character 'x' looking for beginning of value"}),
    (b'{"reference": "r"} trailing', 400, {"errorCode": "VALIDATION", "errorMessage": "invalid type"}),
    (b"null", 500, None),  # the handler dereferences a nil request and its recovery answers a bare 500
])
def test_bodies_that_do_not_decode(http: httpx.Client, raw: bytes, status: int, answer: Any) -> None:
    r = http.post(URL, content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == status
    assert (r.json() if answer is not None else r.content) == (answer if answer is not None else b"")


def test_keys_match_case_insensitively_as_go_decodes_them(stack: FakeStack, http: httpx.Client) -> None:
    stack.install_connector("WISE")
    sent = {k[0].upper() + k[1:]: v for k, v in body().items()}
    assert http.post(URL, json=sent).json()["data"]["reference"] == "inst-1-00"


# -- duplicates and reading back -------------------------------------------------------------------------------


def test_same_reference_on_the_same_connector_is_a_conflict(stack: FakeStack, http: httpx.Client,
                                                             accepted: Accepted) -> None:
    cid = stack.install_connector("WISE")
    first = http.post(URL, json=body())
    again = http.post(URL, json=body(amount=1))
    assert (again.status_code, again.json()) == (400, {
        "errorCode": "CONFLICT", "errorMessage": "creating transfer initiation: duplicate key value"})
    other = stack.install_connector("WISE")
    elsewhere = http.post(URL, json=body(connectorID=other))  # another connector: another id
    assert elsewhere.status_code == 200 and elsewhere.json()["data"]["id"] != first.json()["data"]["id"]
    assert [b.get("connectorID", cid) for b in accepted()] == [cid, other]


def test_read_back_by_the_id_the_create_gave(stack: FakeStack, http: httpx.Client) -> None:
    cid = stack.install_connector("WISE")
    created = http.post(URL, json=body()).json()["data"]
    r = http.get(f"{URL}/{created['id']}")
    assert r.status_code == 200
    read = r.json()["data"]
    assert {k: v for k, v in read.items() if k in created} == created
    assert (read["provider"], read["relatedPayments"]) == ("WISE", None)
    [adjustment] = read["relatedAdjustments"]
    assert (adjustment["status"], adjustment["createdAt"], adjustment["error"]) == ("VALIDATED",
                                                                                    created["createdAt"], "")
    assert http.get(f"{URL}/{stack.transfer_initiation_id('inst-1-00', cid)}").json() == r.json()


def test_reading_an_unknown_or_malformed_id(stack: FakeStack, http: httpx.Client) -> None:
    cid = stack.install_connector("WISE")
    unknown = http.get(f"{URL}/{stack.transfer_initiation_id('never', cid)}")
    assert (unknown.status_code, unknown.json()) == (404, {
        "errorCode": "NOT_FOUND", "errorMessage": "reading transfer initiation: not found"})
    malformed = http.get(f"{URL}/not=base64")
    assert (malformed.status_code, malformed.json()["errorCode"]) == (400, "INVALID_ID")
    not_json = http.get(f"{URL}/{b64('[1]')}")
    assert not_json.json() == {"errorCode": "INVALID_ID", "errorMessage": (
        "json: cannot unmarshal array into Go value of type models.TransferInitiationID")}


def test_request_log_and_initiations(stack: FakeStack, http: httpx.Client, accepted: Accepted) -> None:
    stack.install_connector("WISE")
    http.post(URL, json=body("a"))
    http.post(URL, json=body("a"))  # refused: not kept
    created = http.post(URL, json=body("b")).json()["data"]
    http.get(f"{URL}/{created['id']}")
    assert [(r.method, r.status) for r in stack.requests(path_pattern=f"{URL}.*")] == [
        ("POST", 200), ("POST", 400), ("POST", 200), ("GET", 200)]
    assert stack.requests("POST", URL)[0].json == body("a")
    assert [b["reference"] for b in accepted()] == ["a", "b"]
    assert json.loads(json.dumps(accepted())) == [body("a"), body("b")]
