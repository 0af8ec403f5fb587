"""The agent API's refusals: one exception, turned into a JSON response (or an MCP tool error)."""

from __future__ import annotations

from typing import Any, Literal

ErrorKind = Literal[
    "not_authenticated",
    "unknown_session",
    "unknown_widget",
    "unknown_trait",
    "unknown_action",
    "unknown_code",
    "invalid_value",
    "invalid_arguments",
    "not_owner",
    "unsupported_media_type",
    "too_large",
    "at_capacity",
    "app_error",
    "action_error",
    "callback_error",
]


class AgentError(Exception):
    """A refusal with an HTTP status, a machine-readable kind and a message for the caller."""

    def __init__(self, status: int, error: ErrorKind, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"detail": {"error": self.error, "message": self.message, **self.extra}}


def unknown(kind: Literal["widget", "trait", "action"], name: str, where: str,
            available: list[str]) -> AgentError:
    """404 naming what exists, so a caller can correct itself."""
    listing = ", ".join(available) if available else "none"
    error: ErrorKind = "unknown_widget" if kind == "widget" else (
        "unknown_trait" if kind == "trait" else "unknown_action")
    return AgentError(404, error, f"{where} has no {kind} {name[:80]!r}; it has: {listing}",
                      available=available)
