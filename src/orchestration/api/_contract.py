"""What the routes accept, as the OpenAPI document states it.

Handlers read bodies and parameters by hand (to answer as the original does: Q-13, Q-42, precise
400 messages), so FastAPI cannot derive these schemas: they are written here, one per thing a
client sends, and registered as components. `tests/api/test_contract.py` holds them to the
stage configurations and to the parsers: what a schema allows is accepted, what it refuses is
refused.

Strings are text without U+0000 anywhere (PostgreSQL cannot store it, `orchestration.limits`); bodies also
nest at most `MAX_DEPTH` levels and weigh at most `--max-body-size` bytes, which JSON Schema
cannot say: the descriptions do.
"""

from __future__ import annotations

from typing import Any, Final

from orchestration.limits import MAX_DEPTH, MAX_INT32
from orchestration.service import MAX_STAGES

Schema = dict[str, Any]

TEXT: Final = r"^[^\u0000]*$"
"""Any text without U+0000."""
UUID: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""Ids as the server makes them (`service.is_canonical_id`): lowercase canonical UUIDs."""

# `${name}`: replaced by a run variable when a stage starts, by "" when a workflow is created (§5.2).
_VARIABLE = r"\$\{[^}\u0000]+\}"
# Go durations whose every value fits an int64 of nanoseconds (at most ~2,562,047 h): at most two
# parts of up to six digits each (§5.3). "" and a lone variable read as the zero duration.
_GO_DURATION = r"[+-]?(?:0|(?:(?:[0-9]{1,6}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)){1,2})"
# RFC 3339 as Go parses it, on dates every month has (days 01-28) in years 1000-8999, so that
# any zone offset stays within the years Python's datetime holds.
_RFC3339 = (
    r"[1-8][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.,][0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# An exact integer of any size up to what Python converts (4,300 digits).
_BIG_INT = r"[+-]?[0-9]{1,4300}"
_BOOL = r"[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]"
_TRANSFER_TYPE = r"[Tt][Rr][Aa][Nn][Ss][Ff][Ee][Rr]|[Pp][Aa][Yy][Oo][Uu][Tt]"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(description: str = "") -> Schema:
    schema: Schema = {"type": ["string", "null"], "pattern": TEXT}
    if description:
        schema["description"] = description
    return schema


def _syntax(pattern: str, description: str, *others: str) -> Schema:
    return {"type": [*others, "string", "null"], "pattern": f"^(?:{pattern})$", "description": description}


def _duration() -> Schema:
    return _syntax(f"(?:{_GO_DURATION}|{_VARIABLE})?", "A Go duration (`90s`, `1h30m`), or a `${variable}`.")


def _timestamp() -> Schema:
    return _syntax(f"(?:{_RFC3339}|{_VARIABLE})?", "An RFC 3339 date (`2030-01-02T03:04:05Z`), or a `${variable}`.")


def _big_int() -> Schema:
    return _syntax(
        f"(?:{_BIG_INT}|{_VARIABLE})?", "An exact integer, as a JSON integer or a string of digits (Q-19).", "integer"
    )


def _bool(description: str = "") -> Schema:
    # Q-30: a `${variable}` left undefined gives "", which is no bool: refused at creation.
    return _syntax(_BOOL, " ".join(filter(None, (description, "`true` or `false`, as a JSON boolean or a string."))),
                   "boolean")


def _object(properties: dict[str, Schema], *, required: tuple[str, ...] = (), nullable: bool = True) -> Schema:
    """A stage configuration object: unknown keys are ignored (as Go's decoder does), any JSON value."""
    schema: Schema = {
        "type": ["object", "null"] if nullable else "object",
        "properties": properties,
        "propertyNames": {"pattern": TEXT},
        "additionalProperties": ref("JsonValue"),
    }
    if required:
        schema["required"] = list(required)
    return schema


_STRING_MAP: Schema = {
    "type": ["object", "null"],
    "propertyNames": {"pattern": TEXT},
    "additionalProperties": _text(),
}

_STAGE_TYPES: dict[str, Schema] = {
    "NoopStage": {
        "type": ["object", "null"],
        "description": "No settings; any keys are ignored.",
        "propertyNames": {"pattern": TEXT},
        "additionalProperties": ref("JsonValue"),
    },
    "DelayStage": _object({"duration": _duration(), "until": _timestamp()})
    | {"description": "Exactly one of `duration` and `until`, checked when the stage starts (Q-14)."},
    "WaitEventStage": _object({"event": _text("The event name; required when the stage starts.")}),
    "UpdateStage": _object({"account": ref("UpdateAccount")}),
    "SendStage": _object(
        {
            "source": ref("SendSource"),
            "destination": ref("SendDestination"),
            "amount": ref("SendAmount"),
            "metadata": _STRING_MAP,
            "timestamp": _timestamp(),
        },
        required=("source", "destination"),  # even at creation: `expected map but was <nil>`
        nullable=False,
    ),
}

_STAGE_PARTS: dict[str, Schema] = {
    "UpdateAccount": _object({"id": _text(), "ledger": _text("Default `main` (Q-15)."), "metadata": _STRING_MAP}),
    "SendSource": _object(
        {"wallet": ref("WalletRef"), "account": ref("LedgerAccount"), "payment": ref("SourcePayment")},
        nullable=False,
    ),
    "SendDestination": _object(
        {"wallet": ref("WalletRef"), "account": ref("LedgerAccount"), "payment": ref("DestinationPayment")},
        nullable=False,
    ),
    "SendAmount": _object({"amount": _big_int(), "asset": _text("e.g. `USD/2`.")}),
    "WalletRef": _object({"id": _text(), "name": _text(), "balance": _text("Default `main`.")}),
    "LedgerAccount": _object({
        "id": _text(),
        "ledger": _text("Default `default` (Q-15)."),
        "throughAccount": _text("Stands for the other ledger in a cross-ledger move or a payout. Default `world`."),
        "allowOverdraft": _bool("The move out of this account (or, as a destination, out of its throughAccount) "
                                "may go below zero."),
    }),
    "SourcePayment": _object({
        "id": _text(),
        "ledger": _text("Where the payment is imported. Default `orchestration-000-internal`."),
        "holdingAccount": _text("Where the payment is imported to. Default `payment:<id with _ for ->`."),
        "throughAccount": _text("Where the import comes from. Default `world`."),
        "allowOverdraft": _bool("The import may take the throughAccount below zero."),
    }),
    "DestinationPayment": _object({
        "psp": _text("Any PSP, sent upper-cased as the transfer initiation's provider (`wise` → `WISE`)."),
        "type": _syntax(f"(?:{_TRANSFER_TYPE}|{_VARIABLE})?", "`TRANSFER` (default) or `PAYOUT`, in any case."),
        "sourceAccount": _text("The Payments account the PSP pays from."),
        "metadata": _text("The metadata key holding the PSP's destination account id. Default `formanceAccountID`."),
        "waitingValidation": _bool(),
        "connectorId": _text("The Payments connector; without it, the one of the PSP."),
        "connectorID": _text("Read when `connectorId` is absent."),
    }),
}

_STAGE_NAMES: Final = {
    "noop": "NoopStage",
    "delay": "DelayStage",
    "wait_event": "WaitEventStage",
    "update": "UpdateStage",
    "send": "SendStage",
}

_LIMITS = f"At most {MAX_DEPTH} levels of nesting and `--max-body-size` bytes (413 beyond)."

REQUEST_SCHEMAS: Final[dict[str, Schema]] = {
    "JsonValue": {
        "description": "Any JSON value whose text holds no U+0000.",
        "anyOf": [
            {"type": "string", "pattern": TEXT},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": ref("JsonValue")},
            {"type": "object", "propertyNames": {"pattern": TEXT}, "additionalProperties": ref("JsonValue")},
        ],
    },
    "WorkflowDefinition": {
        "type": "object",
        "description": f"A workflow definition (JSON, or YAML converting to it). Unknown keys are ignored. {_LIMITS}",
        "properties": {
            "name": _text(),
            "stages": {"type": ["array", "null"], "maxItems": MAX_STAGES, "items": ref("StageDefinition")},
        },
        "propertyNames": {"pattern": TEXT},
        "additionalProperties": ref("JsonValue"),
    },
    "StageDefinition": {
        "type": "object",
        "description": "One key, the stage type, whose value is the stage configuration.",
        "properties": {kind: ref(name) for kind, name in _STAGE_NAMES.items()},
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    },
    **_STAGE_TYPES,
    **_STAGE_PARTS,
    "RunVariables": {
        "type": ["object", "null"],
        "description": f"Variables of the run, all strings; absent or null: none (Q-33). {_LIMITS}",
        "propertyNames": {"pattern": TEXT},
        "additionalProperties": {"type": "string", "pattern": TEXT},
    },
    "TriggerData": {
        "type": "object",
        "description": "A trigger: when an event of type `event` (and `version`, when set) passes `filter`, "
        "run workflow `workflowID` with `vars`. Expressions are expr-lang; they must compile. "
        f"Unknown keys are ignored. {_LIMITS}",
        "properties": {
            "name": _text(),
            "event": {"type": "string", "minLength": 1, "pattern": TEXT, "description": "The event type, e.g. "
                      "`SAVED_PAYMENT`."},
            "version": _text("Only events of this version (`v2`); unset: any."),
            "filter": _text("An expression on `event`; only a boolean `true` matches."),
            "workflowID": {"type": "string", "minLength": 1, "pattern": TEXT,
                           "description": "The workflow to run (not deleted)."},
            "vars": {
                "type": ["object", "null"],
                "description": "Run variables: name → expression, each stringified.",
                "propertyNames": {"pattern": TEXT},
                "additionalProperties": {"type": "string", "pattern": TEXT},
            },
        },
        "required": ["event", "workflowID"],
        "propertyNames": {"pattern": TEXT},
        "additionalProperties": ref("JsonValue"),
    },
    "TriggerTestEvent": {
        "description": f"A sample event payload (what expressions see as `event`). {_LIMITS}",
        "allOf": [ref("JsonValue")],
    },
    "FormanceEvent": {
        "type": "object",
        "description": "A Formance event envelope, as the Formance Webhooks service delivers it, "
        f"signed (`formance-webhook-id`, `-timestamp`, `-signature`). {_LIMITS}",
        "properties": {
            "idempotency_key": {"type": "string", "pattern": TEXT},
            "date": {"type": "string", "format": "date-time"},
            "app": {"type": "string", "pattern": TEXT},
            "version": {"type": "string", "pattern": TEXT},
            "type": {"type": "string", "minLength": 1, "pattern": TEXT},
            "payload": ref("JsonValue"),
        },
        "required": ["type", "date"],
        "additionalProperties": ref("JsonValue"),
    },
    "EventRequest": {
        "type": "object",
        "description": f"An event for the instance's `wait_event` stages. Unknown keys are ignored. {_LIMITS}",
        "properties": {"name": {"type": "string", "minLength": 1, "pattern": TEXT}},
        "required": ["name"],
        "propertyNames": {"pattern": TEXT},
        "additionalProperties": ref("JsonValue"),
    },
}

WORKFLOW_ID: Final[Schema] = {"type": "string", "format": "uuid", "pattern": UUID}
INSTANCE_ID: Final[Schema] = WORKFLOW_ID
TRIGGER_ID: Final[Schema] = WORKFLOW_ID
STAGE_NUMBER: Final[Schema] = {"type": "integer", "minimum": 0, "maximum": MAX_INT32}
# An unsigned 32-bit integer as the original parses it; empty means the default, like absent.
PAGE_SIZE: Final[Schema] = {
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": 2**32 - 1}, {"type": "string", "maxLength": 0}]
}
QUERY_TEXT: Final[Schema] = {"type": "string", "pattern": TEXT}
ANY_TEXT: Final[Schema] = {"type": "string"}
