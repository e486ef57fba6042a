"""Kept models: a models table (content-addressed files or a pointer) and versions.model_digest.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("ref", sa.Text, nullable=True),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # no foreign key: SQLite would copy the versions table to add one
    op.add_column("versions", sa.Column("model_digest", sa.String(64), nullable=True))
    op.create_index("ix_versions_model", "versions", ["model_digest"])


def downgrade() -> None:
    op.drop_index("ix_versions_model", table_name="versions")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("model_digest")
    op.drop_table("models")
