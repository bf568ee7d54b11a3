"""The trigger expression language: expr-lang/expr syntax, our own bounded evaluator.

Triggers filter Formance events and compute run variables with expressions such as
`event.status == "SUCCEEDED"` or `link(event, "source_account").role` (spec §11, §12):

    program = compile_expr('event.amount > 1000 and event.asset startsWith "USD"')
    matched = evaluate(program, event=payload) is True
    variable = stringify(evaluate(compile_expr("event.amount"), event=payload))

Compilation knows nothing of the environment (unknown names compile and are nil when run);
evaluation sees exactly `event` and the caller's `link` function, does no I/O and reads no clock.
Every failure is an `ExprError`, worded and located as expr-lang words and locates it.
"""

from __future__ import annotations

from ._ast import Program
from ._errors import ExprError
from ._eval import evaluate
from ._limits import DEFAULT_LIMITS, Limits
from ._parser import compile_expr
from ._stringify import stringify

__all__ = ["DEFAULT_LIMITS", "ExprError", "Limits", "Program", "compile_expr", "evaluate", "stringify"]
