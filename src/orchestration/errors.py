"""Errors a client can cause, each with the wire code it maps to (STYLE R4)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The only error codes the official SDK accepts."""

    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL = "INTERNAL"
    UNAUTHORIZED = "UNAUTHORIZED"
    """Only where no SDK call can land: a request whose signature or token does not verify."""


class OrchestrationError(Exception):
    """Base of every error the service layer reports to a client."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(OrchestrationError):
    code = ErrorCode.VALIDATION


class Unauthorized(OrchestrationError):
    code = ErrorCode.UNAUTHORIZED


class NotFound(OrchestrationError):
    code = ErrorCode.NOT_FOUND


class WorkflowNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Workflow not found")


class InstanceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Instance not found")
