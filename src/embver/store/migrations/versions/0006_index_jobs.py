"""Downstream index jobs: the journal of publishes and migrations (embver.index.journal).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("reader", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(300), nullable=True),
        sa.Column("target_ref", sa.String(300), nullable=False),
        sa.Column("physical_table", sa.String(200), nullable=True),
        sa.Column("old_table", sa.String(200), nullable=True),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("done_count", sa.Integer, nullable=False),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_index_jobs_url", "index_jobs", ["url"])


def downgrade() -> None:
    op.drop_index("ix_index_jobs_url", table_name="index_jobs")
    op.drop_table("index_jobs")
