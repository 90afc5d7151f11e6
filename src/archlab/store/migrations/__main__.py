"""`python -m archlab.store.migrations MESSAGE`: autogenerate a revision (models vs. the newest one)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from archlab.store.db import alembic_config, open_store, sqlite_url


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(sqlite_url(Path(tmp) / "head.db"))  # an empty store at the newest revision
        with engine.begin() as conn:
            cfg = alembic_config(conn)
            script = command.revision(cfg, message=argv[1], autogenerate=True)
    print(script.path if script else "no revision written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
