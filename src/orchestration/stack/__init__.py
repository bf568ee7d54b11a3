"""Calls to the Formance stack (Ledger, Wallets, Payments) through its gateway."""

from ._activities import ACTIVITIES, TRANSFER_TYPES, Activity, ActivityKey, ActivityName
from ._errors import CONFLICT, TRANSPORT, StackError
from ._http import StackClient, origin_of

__all__ = [
    "ACTIVITIES",
    "CONFLICT",
    "TRANSFER_TYPES",
    "TRANSPORT",
    "Activity",
    "ActivityKey",
    "ActivityName",
    "StackClient",
    "StackError",
    "origin_of",
]
