"""The one LLM client: any OpenAI-compatible endpoint through the `openai` package.

Retries live in exactly one layer for transport faults (the openai client's own `max_retries`, which
honours Retry-After); this module adds only the bounded re-ask of an answer that does not validate,
with the validation error shown to the model. Every call is accounted (tokens, cost, latency, the
faults the transport saw) and stored with the run; the hard budgets are checked before each call.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai

try:  # openai 3 ships its own fork of httpx and builds its requests with it
    import httpx2 as httpx
except ImportError:  # openai 1 and 2 use httpx itself
    import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from archlab.agents.llm.calls import CallSite, LLMBudgetExceeded, LLMEndpointError, LLMError
from archlab.agents.llm.config import LLMConfig
from archlab.agents.llm.prompts import render
from archlab.store import agent_log

__all__ = ["CallSite", "LLMBudgetExceeded", "LLMClient", "LLMEndpointError", "LLMError"]
log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)
MAX_TOKENS_CAP = 32_768  # a cut-off answer is asked again once with twice the max_tokens, up to this
R = TypeVar("R")


@dataclass
class _Traffic:
    """What the HTTP layer saw during one call, through the client's event hooks."""

    requests: int = 0
    responses: int = 0
    statuses: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)  # requests with no response: timeout | connection


class _Transport(httpx.HTTPTransport):
    """The HTTP transport, telling a request that timed out from one whose connection failed or dropped."""

    def __init__(self, on_lost: Callable[[str], None]) -> None:
        super().__init__()
        self._on_lost = on_lost

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except httpx.TimeoutException:
            self._on_lost("timeout")
            raise
        except httpx.TransportError:  # refused, reset, dropped without a status line
            self._on_lost("connection")
            raise


class LLMClient:
    def __init__(self, cfg: LLMConfig, *, api_key: str | None, engine: Engine | None = None,
                 run_id: str | None = None, choose_model: Callable[[CallSite], str] | None = None) -> None:
        """`choose_model` picks a role's model per call when it has several (agents/llm/model_bandit.py)."""
        if not cfg.base_url:
            raise LLMEndpointError("no LLM endpoint configured (llm.base_url / --llm-base-url / OPENAI_BASE_URL)")
        self.cfg, self.engine, self.run_id = cfg, engine, run_id
        self.choose_model = choose_model
        self._local = threading.local()
        http = openai.DefaultHttpxClient(event_hooks={"request": [self._on_request], "response": [self._on_response]},
                                         transport=_Transport(self._on_lost))
        # A local server (Ollama, vLLM, llama.cpp) needs no key, but the package insists on one.
        self._api = openai.OpenAI(base_url=cfg.base_url, api_key=api_key or "not-needed", timeout=cfg.timeout_s,
                                  max_retries=cfg.max_retries, http_client=http)
        self.failures_in_row = 0
        self.used = self._stored_usage()
        self.output = cfg.output  # json_schema falls back to json_object where the endpoint refuses it

    # -- the public call ------------------------------------------------------------------------------

    def structured(self, site: CallSite, schema: type[T], prompt: str, *, system: str,
                   convert: Callable[[T], R]) -> R:
        """`convert` of a `schema` instance from the model; re-asked with the validation error, bounded.

        `convert` turns the answer into the hand-off (e.g. a Plan) and raises ValueError with a message the
        model can act on ("parent c12 does not exist"); that is re-asked like a schema error.
        LLMError when no valid answer came (transport failure after the client's retries, or invalid answers).
        """
        messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]
        self._local.model = self._model(site)  # one model for the call and its re-asks
        errors: list[str] = []
        for _ in range(self.cfg.validation_retries + 1):
            raw = self._complete(site, schema, messages, retries=len(errors))
            try:
                result = convert(schema.model_validate(_parse_json(raw)))
            except (ValueError, ValidationError) as exc:  # ValidationError is a ValueError; named for the reader
                errors.append(_short(exc))
                self._mark_last_invalid(errors[-1])
                messages += [{"role": "assistant", "content": raw},
                             {"role": "user", "content": render("validation_retry.j2", error=errors[-1],
                                                                schema_name=schema.__name__)}]
                continue
            return result
        raise LLMError(f"{site.role}: no valid {schema.__name__} after {len(errors)} answers: {errors[-1]}", "invalid")

    def _model(self, site: CallSite) -> str:
        if self.choose_model is None or len(self.cfg.models_of(site.role)) < 2:
            return self.cfg.model_of(site.role)
        return self.choose_model(site)

    def exhausted(self) -> str | None:
        """The budget that is spent, as a stop reason; None while every budget has room."""
        tokens, usd, wall = self.used
        b = self.cfg.budget
        if b.tokens is not None and tokens >= b.tokens:
            return f"LLM token budget reached ({tokens:,} of {b.tokens:,} tokens)"
        if b.usd is not None and usd >= b.usd:
            return f"LLM cost budget reached (${usd:.4f} of ${b.usd:.4f})"
        if b.wall_s is not None and wall >= b.wall_s:
            return f"LLM time budget reached ({wall:.0f}s of {b.wall_s:.0f}s)"
        return None

    # -- one request and its accounting -------------------------------------------------------------

    def _complete(self, site: CallSite, schema: type[BaseModel], messages: list[dict], *, retries: int) -> str:
        spent = self.exhausted()
        if spent:
            self._store(site, status="budget", error=spent)
            raise LLMBudgetExceeded(spent)
        max_tokens = self.cfg.role(site.role).max_tokens or self.cfg.max_tokens
        for attempt in range(2):
            response = self._one(site, schema, messages, retries=retries, max_tokens=max_tokens)
            if _finish(response) != "length":
                self.failures_in_row = 0
                return _content(response)
            if attempt == 0 and max_tokens < MAX_TOKENS_CAP:
                log.warning("the %s's answer was cut off at max_tokens %d; asking again with %d (raise "
                            "llm.%s.max_tokens to avoid this)", site.role, max_tokens,
                            min(2 * max_tokens, MAX_TOKENS_CAP), site.role)
                max_tokens = min(2 * max_tokens, MAX_TOKENS_CAP)
                continue
            break
        self._failed()
        raise LLMError(f"{site.role}: the answer was cut off at max_tokens {max_tokens} (finish_reason length); "
                       f"raise llm.{site.role}.max_tokens or llm.max_tokens", "truncated")

    def _one(self, site: CallSite, schema: type[BaseModel], messages: list[dict], *, retries: int,
             max_tokens: int):
        """One request, stored with its accounting; a response cut off at max_tokens is stored `truncated`."""
        self._local.traffic = traffic = _Traffic()
        started = time.monotonic()
        try:
            response = self._api.chat.completions.create(**self._request(site.role, schema, messages, max_tokens))
        except openai.BadRequestError as exc:
            self._store(site, status="endpoint", error=_short(exc), traffic=traffic, started=started)
            if self.output != "json_schema":
                raise LLMEndpointError(f"the LLM endpoint refused the {site.role}'s request: {_short(exc)}") from exc
            # Many servers (older vLLM, llama.cpp, some gateways) answer 400 to a JSON schema: JSON mode instead.
            log.warning("the LLM endpoint refused response_format json_schema (%s); using json_object from now on "
                        "(set llm.output to skip this)", _short(exc, 200))
            self.output = "json_object"
            return self._one(site, schema, messages, retries=retries, max_tokens=max_tokens)
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError,
                openai.UnprocessableEntityError) as exc:
            self._store(site, status="endpoint", error=_short(exc), traffic=traffic, started=started)
            raise LLMEndpointError(f"the LLM endpoint refused the {site.role}'s request: {_short(exc)}") from exc
        except openai.APIError as exc:  # timeouts, 429, 5xx, connection: after the client's own retries
            status = _fault_status(exc)
            self._store(site, status=status, error=_short(exc), traffic=traffic, started=started)
            self._failed()
            raise LLMError(f"{site.role}: the LLM call failed ({status}): {_short(exc)}", status) from exc
        prompt_tokens, completion_tokens, estimated = usage_of(response, messages)
        truncated = _finish(response) == "length"
        self._store(site, status="truncated" if truncated else "ok", traffic=traffic, started=started,
                    prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, validation_retries=retries,
                    estimated=estimated, error=f"cut off at max_tokens {max_tokens}" if truncated else None)
        return response

    def _request(self, role: str, schema: type[BaseModel], messages: list[dict], max_tokens: int) -> dict:
        request: dict[str, Any] = {
            "model": self._local.model, "messages": messages,
            "temperature": self.cfg.temperature_of(role),
            "max_tokens": max_tokens,
        }
        json_schema = schema.model_json_schema()
        if self.output == "json_schema":
            request["response_format"] = {"type": "json_schema",
                                          "json_schema": {"name": schema.__name__, "schema": json_schema}}
        elif self.output == "json_object":
            request["response_format"] = {"type": "json_object"}
            request["messages"] = [*messages[:-1], {**messages[-1], "content": messages[-1]["content"] + "\n\n" +
                                                    render("json_mode.j2", schema=json.dumps(json_schema))}]
        else:
            request["tools"] = [{"type": "function", "function": {
                "name": schema.__name__, "description": f"Give the {schema.__name__}.", "parameters": json_schema}}]
            request["tool_choice"] = {"type": "function", "function": {"name": schema.__name__}}
        return request

    def _store(self, site: CallSite, *, status: str, error: str | None = None, traffic: _Traffic | None = None,
               started: float | None = None, prompt_tokens: int = 0, completion_tokens: int = 0,
               validation_retries: int = 0, estimated: bool = False) -> None:
        latency = time.monotonic() - started if started is not None else 0.0
        model = getattr(self._local, "model", None) or self.cfg.model_of(site.role)
        cost = self.cfg.cost(site.role, prompt_tokens, completion_tokens, model)
        tokens, usd, wall = self.used
        self.used = (tokens + prompt_tokens + completion_tokens, usd + cost, wall + latency)
        faults = _faults(traffic) if traffic else {}
        if estimated:  # the server sent no (or partial) token counts: these are estimates, and say so
            faults["usage_estimated"] = 1
        log.info("llm %s %s: %s, %d+%d tokens, %.1fs%s", site.role, model, status,
                 prompt_tokens, completion_tokens, latency, f", faults {faults}" if faults else "")
        if self.engine is None:
            return
        call = agent_log.LLMCall(run_id=self.run_id, step=site.step, attempt=site.attempt, role=site.role,
                                 model=model, status=status, prompt_tokens=prompt_tokens,
                                 completion_tokens=completion_tokens, cost_usd=cost, latency_s=latency,
                                 requests=traffic.requests if traffic else 0, faults=faults,
                                 validation_retries=validation_retries, error=error)
        with Session(self.engine) as session:
            self._local.last_call = agent_log.add_call(session=session, call=call).id

    def _mark_last_invalid(self, error: str) -> None:
        """The answer of the last stored call did not validate: say so on its record."""
        call_id = getattr(self._local, "last_call", None)
        if self.engine is None or call_id is None:
            return
        with Session(self.engine) as session:
            call = session.get(agent_log.LLMCall, call_id)
            call.status, call.error = "invalid", error
            session.add(call)
            session.commit()

    def _failed(self) -> None:
        self.failures_in_row += 1
        if self.failures_in_row >= self.cfg.max_failures:
            raise LLMEndpointError(f"{self.failures_in_row} LLM calls in a row failed; is the endpoint up?")

    def _stored_usage(self) -> tuple[int, float, float]:
        if self.engine is None or self.run_id is None:
            return 0, 0.0, 0.0
        with Session(self.engine) as session:
            return agent_log.run_usage(session=session, run_id=self.run_id)

    # -- event hooks: what the transport saw --------------------------------------------------------

    def _on_request(self, _request) -> None:
        traffic = getattr(self._local, "traffic", None)
        if traffic is not None:
            traffic.requests += 1

    def _on_lost(self, reason: str) -> None:
        traffic = getattr(self._local, "traffic", None)
        if traffic is not None:
            traffic.lost[reason] += 1

    def _on_response(self, response) -> None:
        traffic = getattr(self._local, "traffic", None)
        if traffic is not None:
            traffic.responses += 1
            if response.status_code >= 400:
                traffic.statuses[str(response.status_code)] += 1

    def close(self) -> None:
        self._api.close()


def _content(response) -> str:
    """The answer text: the forced tool call's arguments, else the message content."""
    message = response.choices[0].message if response.choices else None
    if message is None:
        return ""
    if message.tool_calls:
        return message.tool_calls[0].function.arguments or ""
    return message.content or ""


def _parse_json(raw: str) -> Any:
    """The JSON object of an answer: the whole text, else the first object in it (a ```json fence, prose
    before or after); a tool-call wrapper {"name": ..., "arguments": {...}} some servers add is unwrapped."""
    text = raw.strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        value = _first_object(text)
        if value is None:
            raise ValueError(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from None
    return _unwrapped(value)


def _first_object(text: str) -> Any:
    """The first `{...}` that parses as JSON, scanning from each opening brace; None if there is none."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            return decoder.raw_decode(text, start)[0]
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    return None


def _unwrapped(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"name", "arguments"}:
        arguments = value["arguments"]
        if isinstance(arguments, str):
            try:
                return json.loads(arguments)
            except json.JSONDecodeError:
                return value
        return arguments
    return value


def _faults(traffic: _Traffic) -> dict[str, int]:
    """HTTP statuses >= 400 and lost requests by cause (timeout, connection), as the transport saw them."""
    return {**dict(traffic.statuses), **dict(traffic.lost)}


BYTES_PER_TOKEN = 4.0  # the usual figure for English and code with BPE tokenizers; only for missing usage


def usage_of(response, messages: list[dict]) -> tuple[int, int, bool]:
    """(prompt, completion, estimated): the server's counts; what it left out (some gateways send only
    total_tokens, some nothing) is estimated from the text, and the call is marked estimated."""
    usage = response.usage
    prompt = getattr(usage, "prompt_tokens", None) if usage else None
    completion = getattr(usage, "completion_tokens", None) if usage else None
    total = getattr(usage, "total_tokens", None) if usage else None
    if prompt is not None and completion is not None:
        return int(prompt), int(completion), False
    guess_prompt = _estimate(sum(len(str(m.get("content") or "")) for m in messages))
    guess_completion = _estimate(len(_content(response)))
    if prompt is None and completion is not None:
        prompt = total - completion if total is not None else guess_prompt
    elif completion is None and prompt is not None:
        completion = total - prompt if total is not None else guess_completion
    elif total is not None:  # only the total: split it in the proportion of the estimates
        share = guess_prompt / max(1, guess_prompt + guess_completion)
        prompt = round(total * share)
        completion = total - prompt
    else:
        prompt, completion = guess_prompt, guess_completion
    return max(0, int(prompt)), max(0, int(completion)), True


def _estimate(chars: int) -> int:
    return max(1, round(chars / BYTES_PER_TOKEN))


def _finish(response) -> str | None:
    return response.choices[0].finish_reason if response.choices else None


def _fault_status(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIStatusError):
        return "server_error"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    return "invalid"  # e.g. a response body the package could not parse


def _short(exc: Exception, limit: int = 600) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
