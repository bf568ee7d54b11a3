"""`ExprError` and the one function that renders it in expr-lang's format.

expr (file/error.go) prints a located error as `<message> (<line>:<column>)`, then the source
line and a caret under the failing character:

    invalid operation: <nil> + <nil> (1:3)
     | a + b
     | ..^
"""

from __future__ import annotations


class ExprError(Exception):
    """A compilation or evaluation failure of an expression.

    `str(error)` is the message in expr-lang's format (see `format_error`).

    Attributes:
        message: What went wrong, without location (`invalid operation: <nil> + <nil>`).
        line: 1-based line of the failing character; 0 when the error has no location.
        column: 1-based column of the failing character, in characters; 0 without location.
        source_line: The source line shown under the message ("" shows none).
    """

    def __init__(self, message: str, line: int = 0, column: int = 0, source_line: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line

    def __str__(self) -> str:
        return format_error(self.message, self.line, self.column, self.source_line)

    def __reduce__(self) -> tuple[type[ExprError], tuple[str, int, int, str]]:
        # Keep the location through pickling (an engine may carry the error across processes).
        return (ExprError, (self.message, self.line, self.column, self.source_line))


def format_error(message: str, line: int, column: int, source_line: str) -> str:
    """Render an error as expr does: the message, its location, the line and a caret.

    Without a source line (no location, or an empty line) only the message is shown, as in expr.
    """
    if line <= 0 or not source_line:
        return message
    dots = "." * max(column - 1, 0)
    return f"{message} ({line}:{column})\n | {source_line}\n | {dots}^"


def located(message: str, source: str, offset: int) -> ExprError:
    """An `ExprError` at character `offset` of `source`, located as expr's `Error.Bind` does.

    Lines are split on "\\n" only; tabs in the shown line become spaces. An offset past the end
    points just after the last character (where an unterminated literal is reported).
    """
    offset = max(0, min(offset, len(source)))
    line_start = source.rfind("\n", 0, offset) + 1
    line_end = source.find("\n", line_start)
    if line_end < 0:
        line_end = len(source)
    line = source.count("\n", 0, line_start) + 1
    column = offset - line_start + 1
    return ExprError(message, line, column, source[line_start:line_end].replace("\t", " "))


STACK_EXHAUSTED = "expression nested too deeply for the call stack"


class OperationError(Exception):
    """An operation failed on its operands; the evaluator locates it at the node it was evaluating."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
