"""A real local HTTP server that speaks the OpenAI chat-completions protocol and replays scripted answers.

Rules are tried in order; the first whose `match` strings all occur in the request's messages (and that
has uses left) answers. An answer is a dict (sent as the JSON content, or as the arguments of the forced
tool call when the request has `tools`), a string sent verbatim, or a callable of the request's text
returning either. A rule may inject a fault instead: `timeout` (answers after `delay` seconds), `429`
(with Retry-After), `500`, `truncated` (half of the JSON), `length` (half of the JSON with finish_reason
"length", as a server does at max_tokens), `partial_usage` (usage with total_tokens only), `no_usage` (no usage
block), `drop` (the connection closed without a response), `400_schema` (400 to a json_schema response_format, as
servers without structured output do), or a verbatim invalid answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = dict | str | Callable[[str], dict | str]


@dataclass
class Rule:
    match: list[str]
    answer: Answer | None = None
    fault: str | None = None  # timeout | 429 | 500 | truncated | length | partial_usage | no_usage | drop
    times: int | None = None  # None: unlimited
    delay: float = 5.0  # timeout: seconds before answering
    retry_after: float = 0.05  # 429: the Retry-After header
    used: int = 0

    def fits(self, text: str) -> bool:
        return (self.times is None or self.used < self.times) and all(m in text for m in self.match)


@dataclass
class Exchange:
    text: str
    body: dict
    status: int
    fault: str | None


@dataclass
class ScriptedLLM:
    rules: list[Rule] = field(default_factory=list)
    log: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                script._serve(self, body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def add(self, match: str | list[str], answer: Answer | None = None, **kw) -> ScriptedLLM:
        self.rules.append(Rule(match=[match] if isinstance(match, str) else list(match), answer=answer, **kw))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, marker: str) -> list[Exchange]:
        return [e for e in self.log if marker in e.text]

    # -- serving ----------------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        text = "\n".join(_text(m) for m in body.get("messages", []))
        with self._lock:
            rule = next((r for r in self.rules if r.fits(text)), None)
            if rule is not None:
                rule.used += 1
        if rule is None:
            self._log(text, body, 404, "no rule")
            return _send(handler, 404, {"error": {"message": "the script has no answer for this prompt",
                                                  "type": "invalid_request_error"}})
        self._log(text, body, {"429": 429, "500": 500}.get(rule.fault or "", 200), rule.fault)
        if rule.fault == "429":
            return _send(handler, 429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                         {"Retry-After": str(rule.retry_after)})
        if rule.fault == "400_schema" and (body.get("response_format") or {}).get("type") == "json_schema":
            return _send(handler, 400, {"error": {"message": "response_format json_schema is not supported",
                                                  "type": "invalid_request_error"}})
        if rule.fault == "500":
            return _send(handler, 500, {"error": {"message": "the model crashed", "type": "server_error"}})
        if rule.fault == "timeout":
            time.sleep(rule.delay)
        if rule.fault == "drop":  # as a gateway that drops the connection: no status line at all
            handler.close_connection = True
            handler.connection.shutdown(2)
            return None
        answer = rule.answer(text) if callable(rule.answer) else rule.answer
        content = answer if isinstance(answer, str) else json.dumps(answer)
        if rule.fault in ("truncated", "length"):
            content = content[: len(content) // 2]
        completion = _completion(body, content, text)
        if rule.fault == "length":
            completion["choices"][0]["finish_reason"] = "length"
        if rule.fault == "partial_usage":
            completion["usage"] = {"total_tokens": completion["usage"]["total_tokens"]}
        if rule.fault == "no_usage":
            del completion["usage"]
        try:
            _send(handler, 200, completion)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout fault)
            pass

    def _log(self, text: str, body: dict, status: int, fault: str | None) -> None:
        with self._lock:
            self.log.append(Exchange(text=text, body=body, status=status, fault=fault))


def _text(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content


def _completion(body: dict, content: str, prompt: str) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish = "stop"
    if body.get("tools"):
        name = body["tools"][0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": content}}]}
        finish = "tool_calls"
    prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(content) // 4)
    return {"id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict, headers: dict | None = None) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)
