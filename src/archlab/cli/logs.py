"""Logging for the command line: the only place that installs a handler (library code only logs)."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler


def setup_logging(console: Console, *, verbose: bool) -> None:
    """Log records to `console` through rich: INFO and up when verbose, else WARNING and up."""
    handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler],
                        format="%(message)s", force=True)
