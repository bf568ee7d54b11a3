"""Errors a client can cause, each with the wire code it maps to (STYLE R4)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The only error codes the official SDK accepts."""

    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL = "INTERNAL"


class OrchestrationError(Exception):
    """Base of every error the service layer reports to a client."""

    code: ErrorCode = ErrorCode.INTERNAL
    status: int | None = None
    """The HTTP status, when not the code's own (400, 404, 500)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(OrchestrationError):
    code = ErrorCode.VALIDATION


class Unauthorized(OrchestrationError):
    """401: the caller is not who it must be (a signature or a token does not verify). The code
    is VALIDATION, the one of the SDK's codes that a client error can carry."""

    code = ErrorCode.VALIDATION
    status = 401


class NotFound(OrchestrationError):
    code = ErrorCode.NOT_FOUND


class WorkflowNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Workflow not found")


class InstanceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Instance not found")
