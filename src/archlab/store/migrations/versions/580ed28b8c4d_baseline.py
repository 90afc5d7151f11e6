"""baseline: the schema `create_all` made before migrations, frozen here

Revision ID: 580ed28b8c4d
Revises:
Create Date: 2026-11-23

Creates only the tables (and their indexes) a store lacks: a new store gets them all, a store made
by `SQLModel.metadata.create_all` before migrations existed keeps its tables and its data. The
tables are a copy, not the models: later schema changes are later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "580ed28b8c4d"
down_revision = None
branch_labels = None
depends_on = None

META = sa.MetaData()
sa.Table(
    'agentnote', META,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.Index('ix_agentnote_run_id', 'run_id'),
)
sa.Table(
    'candidate', META,
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('parent_ids', sa.JSON(), nullable=True),
    sa.Column('rationale', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('derivation', sa.JSON(), nullable=True),
    sa.Column('derivation_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('graph_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('probe_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('params', sa.Integer(), nullable=True),
    sa.Column('flops', sa.Integer(), nullable=True),
    sa.Column('parent_delta', sa.Float(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.Index('ix_candidate_derivation_hash', 'derivation_hash'),
    sa.Index('ix_candidate_fingerprint', 'fingerprint'),
    sa.Index('ix_candidate_graph_hash', 'graph_hash'),
    sa.Index('ix_candidate_run_id', 'run_id'),
)
sa.Table(
    'concept', META,
    sa.Column('claim', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('kind', sa.Enum('design_principle', 'failure_mode', 'hypothesis', 'literature_finding',
                              name='conceptkind'), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('task', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('space', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('scale', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sa.Enum('active', 'retired', name='conceptstatus'), nullable=False),
    sa.Column('retired_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('retired_run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('prior', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('supports', sa.Integer(), nullable=False),
    sa.Column('contradicts', sa.Integer(), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=True),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid'),
    sa.Index('ix_concept_confidence', 'confidence'),
    sa.Index('ix_concept_run_id', 'run_id'),
    sa.Index('ix_concept_space', 'space'),
    sa.Index('ix_concept_status', 'status'),
    sa.Index('ix_concept_task', 'task'),
)
sa.Table(
    'evaluation', META,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('task', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fidelity', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=True),
    sa.Column('artifacts', sa.JSON(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('wall_s', sa.Float(), nullable=False),
    sa.Column('peak_memory_mb', sa.Float(), nullable=True),
    sa.Column('sandbox_image', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('fingerprint', 'task', 'stage', 'fidelity', 'seed'),
    sa.Index('ix_evaluation_candidate_id', 'candidate_id'),
    sa.Index('ix_evaluation_run_id', 'run_id'),
)
sa.Table(
    'grammar', META,
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('parent', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('imports', sa.JSON(), nullable=True),
    sa.Column('proposed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('task', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('rationale', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=True),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.Index('ix_grammar_name', 'name', unique=True),
    sa.Index('ix_grammar_run_id', 'run_id'),
)
sa.Table(
    'idea', META,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('seen_step', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.Index('ix_idea_run_id', 'run_id'),
)
sa.Table(
    'llmcall', META,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('latency_s', sa.Float(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('faults', sa.JSON(), nullable=True),
    sa.Column('validation_retries', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.Index('ix_llmcall_run_id', 'run_id'),
)
sa.Table(
    'retrievallog', META,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('agent', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('query', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=True),
    sa.Column('concept_ids', sa.JSON(), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.Index('ix_retrievallog_run_id', 'run_id'),
)
sa.Table(
    'run', META,
    sa.Column('task', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('space', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('budget_s', sa.Float(), nullable=True),
    sa.Column('max_evals', sa.Integer(), nullable=True),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('stop_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('used_s', sa.Float(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
)
sa.Table(
    'conceptlink', META,
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('refines', 'contradicts', 'duplicates', name='linkkind'), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['concept.id'], ),
    sa.ForeignKeyConstraint(['target_id'], ['concept.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id', 'target_id', 'kind'),
    sa.Index('ix_conceptlink_source_id', 'source_id'),
    sa.Index('ix_conceptlink_target_id', 'target_id'),
)
sa.Table(
    'conceptvector', META,
    sa.Column('concept_id', sa.Integer(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['concept_id'], ['concept.id'], ),
    sa.PrimaryKeyConstraint('concept_id', 'model'),
)
sa.Table(
    'evidence', META,
    sa.Column('concept_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('direction', sa.Enum('supports', 'contradicts', name='direction'), nullable=False),
    sa.Column('effect_size', sa.Float(), nullable=True),
    sa.Column('fidelity', sa.Integer(), nullable=False),
    sa.Column('seeds', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['concept_id'], ['concept.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('concept_id', 'candidate_id', 'evaluation_id', 'direction'),
    sa.Index('ix_evidence_concept_id', 'concept_id'),
    sa.Index('ix_evidence_run_id', 'run_id'),
)


def upgrade() -> None:
    META.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    META.drop_all(op.get_bind(), checkfirst=True)
