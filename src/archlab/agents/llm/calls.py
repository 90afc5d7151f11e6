"""What the roles need to know about an LLM call without importing the client (and the openai package):
who asks, and the errors a call ends with."""

from __future__ import annotations

from dataclasses import dataclass

from archlab.errors import ArchlabError, InfraError


class LLMError(ArchlabError):
    """A call that produced no usable answer; the role falls back or counts a failed proposal."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class LLMBudgetExceeded(LLMError):
    """A hard budget (tokens, dollars, LLM seconds) is spent; the run stops with this reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "budget")


class LLMEndpointError(InfraError):
    """The endpoint is misconfigured (auth, unknown model, bad request) or keeps failing: the run stops."""


@dataclass
class CallSite:
    """Who asks: stored with each call."""

    role: str
    step: int = 0
    attempt: int = 0
