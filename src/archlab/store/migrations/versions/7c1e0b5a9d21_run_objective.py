"""run objective

Revision ID: 7c1e0b5a9d21
Revises: 32db4c6fa334
Create Date: 2026-12-08

A run records what ranks its results: the task's objective metric and whether lower is better
(store/objective.py). Earlier runs ranked by validation accuracy; the byte-level LM runs among them are set to
bits per byte, their task's objective.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7c1e0b5a9d21'
down_revision = '32db4c6fa334'
branch_labels = None
depends_on = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("run")}


def upgrade() -> None:
    have = _columns()
    with op.batch_alter_table("run") as batch:
        if "objective" not in have:
            batch.add_column(sa.Column("objective", sa.String(), nullable=False, server_default="val_acc"))
        if "minimize" not in have:
            batch.add_column(sa.Column("minimize", sa.Boolean(), nullable=False, server_default=sa.false()))
    if "objective" not in have:
        op.execute(sa.text("UPDATE run SET objective = 'val_bpb', minimize = :yes WHERE task = 'bytes-lm'")
                   .bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table("run") as batch:
        batch.drop_column("minimize")
        batch.drop_column("objective")
