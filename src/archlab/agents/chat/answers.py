"""What the chat's assistant is asked to answer (structured output): its reply, and a draft when it has one.

The critic's answer is the runs' ReviewAnswer (agents/llm/answers.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class DraftAnswer(BaseModel):
    kind: Literal["derivation", "source"] = Field(
        description="derivation: a tree in the chat's search space; source: a whole Python module")
    summary: str = Field(default="", description="one line naming the architecture's parts")
    rationale: str = Field(min_length=4, description="why this architecture tests the idea")
    derivation: dict[str, Any] | None = Field(default=None, description="kind=derivation: the tree's JSON form")
    source: str | None = Field(default=None, description="kind=source: a module defining build_model(task)")


class ChatAnswer(BaseModel):
    message: str = Field(min_length=1, description="your reply to the person: discuss the idea; cite concept "
                                                   "ids (#12) and candidate ids you rely on")
    draft: DraftAnswer | None = Field(default=None, description="a concrete architecture for the idea; null "
                                                                "when there is nothing to draft yet")
