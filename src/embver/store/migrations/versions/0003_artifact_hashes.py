"""Artifacts are content-hashed: a blake3 over each artifact's meta and payload.

Artifacts that exist when this runs keep a NULL hash and are read unchecked.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of the table would drop
    # the original, which the foreign keys pointing at it forbid
    op.drop_column("artifacts", "content_hash")
