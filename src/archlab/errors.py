"""The error tree shared by every archlab package, sorted by whose fault it is.

    ArchlabError
    ├── CandidateError          the candidate's fault: recorded, fed back to the coder and critic
    │   ├── CandidateSyntaxError    the source does not parse or breaks a static rule
    │   ├── CandidateBuildError     build_model fails, wrong output shape, NaN/Inf
    │   └── CandidateTrainError     training diverges or crashes
    ├── InfraError              our fault or the machine's: stops the run with a clear message
    │   ├── SandboxError            a backend cannot start or talk to its worker
    │   └── StoreError              the database is unreachable or inconsistent
    └── ConfigError             the user's input is invalid (config file, task name, budget)
        └── GrammarError            a grammar text is malformed or invalid (carries line and column)

This module imports nothing from archlab, so every package may import it.
"""

from __future__ import annotations


class ArchlabError(Exception):
    """Root of every error archlab raises on purpose."""


class CandidateError(ArchlabError):
    """The candidate did something wrong; the run records it and goes on."""


class CandidateSyntaxError(CandidateError):
    """The candidate's source does not parse or uses a forbidden construct."""


class CandidateBuildError(CandidateError):
    """build_model failed, or the model's output has the wrong shape or is not finite."""


class CandidateTrainError(CandidateError):
    """Training the candidate diverged (NaN/Inf loss) or crashed."""


class InfraError(ArchlabError):
    """Something archlab depends on is broken; the run stops loudly."""


class SandboxError(InfraError):
    """A sandbox backend could not run a job (not the candidate's fault)."""


class StoreError(InfraError):
    """The store could not be opened, migrated or written."""


class ConfigError(ArchlabError):
    """Invalid user input: a config file, a task name, a budget."""


class GrammarError(ConfigError):
    """A grammar text is malformed or fails validation; says where."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 source: str = "<grammar>") -> None:
        self.line, self.column, self.source = line, column, source
        where = f"{source}:{line}:{column}: " if line is not None else f"{source}: "
        super().__init__(where + message)
