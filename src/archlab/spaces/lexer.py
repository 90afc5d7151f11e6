"""Tokens of the grammar format, each with its line and column for error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from archlab.spaces.problems import Problem

# Order matters: FLOAT before INT so "0.1" is one token, while "0..2" still lexes as INT DOTDOT INT
# because FLOAT needs a digit after the dot.
_TOKEN_RE = re.compile(
    r"""
    (?P<SPACE>[ \t\r]+)
  | (?P<COMMENT>\#[^\n]*)
  | (?P<NEWLINE>\n)
  | (?P<FLOAT>-?\d+\.\d+(?:[eE][+-]?\d+)?|-?\d+[eE][+-]?\d+)
  | (?P<INT>-?\d+)
  | (?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<DOTDOT>\.\.)
  | (?P<ARROW>->)
  | (?P<PUNCT>[=|@(){},:])
    """,
    re.VERBOSE,
)

_OPENERS, _CLOSERS = "({", ")}"


@dataclass(frozen=True)
class Token:
    kind: str  # NAME, INT, FLOAT, DOTDOT, ARROW, NEWLINE, EOF, or the punctuation character itself
    text: str
    line: int
    column: int

    @property
    def value(self) -> int | float | str:
        if self.kind == "INT":
            return int(self.text)
        if self.kind == "FLOAT":
            return float(self.text)
        return self.text


def tokenize(text: str) -> tuple[list[Token], list[Problem]]:
    """Split text into tokens; newlines inside () or {} are dropped so calls may span lines."""
    tokens: list[Token] = []
    problems: list[Problem] = []
    line, line_start, depth, pos = 1, 0, 0, 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        column = pos - line_start + 1
        if match is None:
            problems.append(Problem(f"unexpected character {text[pos]!r}", line, column))
            pos += 1
            continue
        kind, lexeme = match.lastgroup or "", match.group()
        pos = match.end()
        if kind == "NEWLINE":
            if depth == 0:
                tokens.append(Token("NEWLINE", "\n", line, column))
            line, line_start = line + 1, pos
        elif kind == "PUNCT":
            depth = max(0, depth + (lexeme in _OPENERS) - (lexeme in _CLOSERS))
            tokens.append(Token(lexeme, lexeme, line, column))
        elif kind not in ("SPACE", "COMMENT"):
            tokens.append(Token(kind, lexeme, line, column))
    tokens.append(Token("EOF", "", line, pos - line_start + 1))
    return tokens, problems
