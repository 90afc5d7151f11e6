"""Recursive-descent parser from tokens to unresolved grammar parts.

Bare names stay Ref here even when they name a block; resolution decides later, once all rules are
known. A syntax error skips to the end of its line so one pass reports every broken line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archlab.spaces.lexer import Token, tokenize
from archlab.spaces.problems import Problem
from archlab.spaces.syntax import (
    Alternative,
    Annotation,
    Call,
    Choice,
    IntRange,
    Item,
    Pos,
    Ref,
    Rule,
    Spec,
    Value,
)

EMPTY_KEYWORD = "empty"
_LIMIT_DIRECTIVES = ("max_depth", "max_size")


class _SyntaxProblem(Exception):
    """Raised inside the parser to abandon the current line; never leaves this module."""

    def __init__(self, message: str, token: Token) -> None:
        super().__init__(message)
        self.problem = Problem(message, token.line, token.column)


@dataclass(frozen=True)
class Import:
    """`import other` (every rule) or `import other: a, b` (these rules and what they use)."""

    grammar: str
    names: tuple[str, ...] | None
    pos: Pos


@dataclass(frozen=True)
class TerminalDecl:
    """`terminal name(p: spec, ...) : takes -> gives [changes d, ...] = ClassName`: a new block whose
    implementation is a class in the grammar's Python code."""

    name: str
    params: tuple[tuple[str, Spec], ...]
    takes: str
    gives: str
    changes: tuple[str, ...]
    class_name: str
    pos: Pos


@dataclass
class ParsedGrammar:
    name: str | None = None
    start: tuple[str, Pos] | None = None
    limits: dict[str, tuple[int, Pos]] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    extends: tuple[str, Pos] | None = None
    imports: list[Import] = field(default_factory=list)
    additions: list[Rule] = field(default_factory=list)  # `name |= ...`: alternatives for an inherited rule
    terminals: list[TerminalDecl] = field(default_factory=list)


def parse_text(text: str) -> tuple[ParsedGrammar, list[Problem]]:
    tokens, problems = tokenize(text)
    parser = _Parser(tokens)
    parser.parse()
    return parser.result, problems + parser.problems


def _describe(token: Token) -> str:
    return {"NEWLINE": "end of line", "EOF": "end of file"}.get(token.kind, repr(token.text))


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.index = tokens, 0
        self.result = ParsedGrammar()
        self.problems: list[Problem] = []
        # The rule being read, so `| ...` lines can extend it; `added` for a `name |= ...` rule.
        self._open_rule: tuple[str, Pos, Annotation | None, list[Alternative]] | None = None
        self._added = False

    # -- token helpers -------------------------------------------------------------------------

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def expect(self, kind: str, what: str) -> Token:
        if self.peek.kind != kind:
            raise _SyntaxProblem(f"expected {what}, found {_describe(self.peek)}", self.peek)
        return self.advance()

    def at(self, *kinds: str) -> bool:
        return self.peek.kind in kinds

    # -- statements ----------------------------------------------------------------------------

    def parse(self) -> None:
        while not self.at("EOF"):
            if self.at("NEWLINE"):
                self.advance()
                continue
            try:
                self.statement()
            except _SyntaxProblem as exc:
                self.problems.append(exc.problem)
                self.skip_line()
        self.close_rule()

    def skip_line(self) -> None:
        while not self.at("NEWLINE", "EOF"):
            self.advance()

    def end_of_line(self) -> None:
        if not self.at("NEWLINE", "EOF"):
            raise _SyntaxProblem(f"unexpected {_describe(self.peek)}", self.peek)

    def statement(self) -> None:
        if self.at("|"):
            self.continuation()
            return
        head = self.expect("NAME", "a rule name or a directive")
        if self.at("=", ":"):
            annotation = self.annotation() if self.at(":") else None
            self.expect("=", f"'=' after the type of rule {head.text!r}")
            self.rule(head, annotation)
        elif self.at("|") and self.tokens[self.index + 1].kind == "=":
            self.index += 2  # past '|' and '='
            self.rule(head, None, added=True)
        elif head.text == "import" and self.at("NAME"):
            self.close_rule()
            self.import_directive(head)
        elif head.text == "terminal" and self.at("NAME"):
            self.close_rule()
            self.terminal_directive(head)
        elif head.text in ("grammar", "start", "extends"):
            self.close_rule()
            self.name_directive(head)
        elif head.text in _LIMIT_DIRECTIVES:
            self.close_rule()
            self.limit_directive(head)
        else:
            raise _SyntaxProblem(f"expected '=' or ':' after rule name {head.text!r}", self.peek)
        self.end_of_line()

    def name_directive(self, head: Token) -> None:
        value = self.expect("NAME", f"a name after {head.text!r}")
        if head.text == "grammar":
            self.result.name = value.text
        elif head.text == "extends":
            if self.result.extends is not None:
                raise _SyntaxProblem("a grammar extends at most one other grammar", head)
            self.result.extends = (value.text, Pos(value.line, value.column))
        else:
            self.result.start = (value.text, Pos(value.line, value.column))

    def import_directive(self, head: Token) -> None:
        other = self.advance()
        names: list[str] | None = None
        if self.at(":"):
            self.advance()
            names = [self.expect("NAME", f"a rule name to import from {other.text!r}").text]
            while self.at(","):
                self.advance()
                names.append(self.expect("NAME", "a rule name after ','").text)
        pos = Pos(head.line, head.column)
        self.result.imports.append(Import(other.text, tuple(names) if names else None, pos))

    def limit_directive(self, head: Token) -> None:
        value = self.expect("INT", f"an integer after {head.text!r}")
        if int(value.text) < 1:
            raise _SyntaxProblem(f"{head.text} must be a positive integer", value)
        self.result.limits[head.text] = (int(value.text), Pos(head.line, head.column))

    def annotation(self) -> Annotation:
        """`: takes -> gives [keeps dim, dim]` between a rule's name and its '='."""
        colon = self.advance()
        takes = self.expect("NAME", "a tensor kind after ':'")
        self.expect("ARROW", f"'->' after {takes.text!r}")
        gives = self.expect("NAME", "a tensor kind after '->'")
        keeps: list[str] = []
        if self.at("NAME") and self.peek.text == "keeps":
            self.advance()
            keeps.append(self.expect("NAME", "a dimension after 'keeps'").text)
            while self.at(","):
                self.advance()
                keeps.append(self.expect("NAME", "a dimension after ','").text)
        return Annotation(takes.text, gives.text, tuple(keeps), Pos(colon.line, colon.column))

    def terminal_directive(self, head: Token) -> None:
        name = self.advance()
        args: list[tuple[str, Spec]] = []
        if self.at("("):
            self.advance()
            args = self.arguments()
            self.expect(")", "')' or ','")
        self.expect(":", f"':' and the type of terminal {name.text!r}")
        takes = self.expect("NAME", "a tensor kind after ':'")
        self.expect("ARROW", f"'->' after {takes.text!r}")
        gives = self.expect("NAME", "a tensor kind after '->'")
        changes: list[str] = []
        if self.at("NAME") and self.peek.text == "changes":
            self.advance()
            changes.append(self.expect("NAME", "a dimension after 'changes'").text)
            while self.at(","):
                self.advance()
                changes.append(self.expect("NAME", "a dimension after ','").text)
        self.expect("=", "'=' and the class implementing the terminal")
        class_name = self.expect("NAME", "the name of a class in the grammar's code").text
        decl = TerminalDecl(name.text, tuple(args), takes.text, gives.text, tuple(changes), class_name,
                            Pos(head.line, head.column))
        self.result.terminals.append(decl)

    def rule(self, head: Token, annotation: Annotation | None, *, added: bool = False) -> None:
        self.close_rule()
        alternatives: list[Alternative] = []
        self._open_rule = (head.text, Pos(head.line, head.column), annotation, alternatives)
        self._added = added
        self.alternatives(alternatives)

    def continuation(self) -> None:
        bar = self.advance()
        if self._open_rule is None:
            raise _SyntaxProblem("a line starting with '|' must follow a rule", bar)
        self.alternatives(self._open_rule[3])

    def close_rule(self) -> None:
        if self._open_rule is not None:
            name, pos, annotation, alternatives = self._open_rule
            if alternatives:  # a rule whose only line failed to parse was already reported
                into = self.result.additions if self._added else self.result.rules
                into.append(Rule(name, tuple(alternatives), pos, annotation))
            self._open_rule = None

    # -- alternatives and items ----------------------------------------------------------------

    def alternatives(self, into: list[Alternative]) -> None:
        into.append(self.alternative())
        while self.at("|"):
            self.advance()
            into.append(self.alternative())

    def alternative(self) -> Alternative:
        start = self.peek
        items: list[Item] = []
        if self.at("NAME") and self.peek.text == EMPTY_KEYWORD:
            self.advance()
        else:
            while self.at("NAME"):
                items.append(self.item())
            if not items:
                hint = "write 'empty' for an empty alternative"
                raise _SyntaxProblem(f"expected an item, found {_describe(self.peek)} ({hint})", self.peek)
        weight = self.weight()
        return Alternative(tuple(items), weight, Pos(start.line, start.column))

    def weight(self) -> float:
        if not self.at("@"):
            return 1.0
        self.advance()
        if not self.at("INT", "FLOAT"):
            raise _SyntaxProblem(f"expected a weight after '@', found {_describe(self.peek)}", self.peek)
        token = self.advance()
        if float(token.text) <= 0:
            raise _SyntaxProblem(f"weight must be positive, got {token.text}", token)
        return float(token.text)

    def item(self) -> Item:
        name = self.advance()
        pos = Pos(name.line, name.column)
        if name.text == EMPTY_KEYWORD:
            raise _SyntaxProblem("'empty' must stand alone in its alternative", name)
        if not self.at("("):
            return Ref(name.text, pos)
        self.advance()
        args = self.arguments()
        self.expect(")", "')' or ','")
        return Call(name.text, tuple(args), pos)

    def arguments(self) -> list[tuple[str, Spec]]:
        args: list[tuple[str, Spec]] = []
        while self.at("NAME"):
            key = self.advance()
            if any(existing == key.text for existing, _ in args):
                raise _SyntaxProblem(f"parameter {key.text!r} given twice", key)
            self.expect(":", f"':' after parameter {key.text!r}")
            args.append((key.text, self.spec()))
            if not self.at(","):
                break
            self.advance()
        return args

    # -- parameter specs -----------------------------------------------------------------------

    def spec(self) -> Spec:
        token = self.peek
        pos = Pos(token.line, token.column)
        if self.at("{"):
            return self.choice(pos)
        value = self.literal()
        if self.at("DOTDOT"):
            self.advance()
            return self.int_range(token, value, pos)
        return Choice((value,), pos)

    def choice(self, pos: Pos) -> Choice:
        self.advance()
        values = [self.literal()]
        while self.at(","):
            self.advance()
            if self.at("}"):  # a trailing comma
                break
            values.append(self.literal())
        self.expect("}", "'}' or ','")
        return Choice(tuple(values), pos)

    def int_range(self, lo_token: Token, lo: Value, pos: Pos) -> IntRange:
        hi_token = self.expect("INT", "an integer after '..'")
        if lo_token.kind != "INT":
            raise _SyntaxProblem("a range needs integer ends", lo_token)
        hi = int(hi_token.text)
        if hi < int(lo):
            raise _SyntaxProblem(f"empty range {lo}..{hi}", lo_token)
        return IntRange(int(lo), hi, pos)

    def literal(self) -> Value:
        if not self.at("INT", "FLOAT", "NAME"):
            raise _SyntaxProblem(f"expected a value, found {_describe(self.peek)}", self.peek)
        return self.advance().value
