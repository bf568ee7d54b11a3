"""Calls to the Formance stack (Ledger, Wallets, Payments) through its gateway."""

from ._activities import ACTIVITIES, Activity, ActivityKey, ActivityName
from ._errors import TRANSPORT, StackError
from ._http import StackClient

__all__ = ["ACTIVITIES", "TRANSPORT", "Activity", "ActivityKey", "ActivityName", "StackClient", "StackError"]
