"""Item tables are content-hashed: each space records its table's Lance version and segments.

Spaces that exist when this runs keep NULL segments: their tables were written
unhashed, and are adopted (hashed as they are) on their next append.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spaces") as batch:
        batch.add_column(sa.Column("items_lance_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("items_segments", sa.JSON, nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of the table would drop
    # the original, which the foreign keys pointing at it forbid
    op.drop_column("spaces", "items_segments")
    op.drop_column("spaces", "items_lance_version")
