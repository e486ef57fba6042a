"""Initial catalog schema: spaces, versions, aliases, alias events, edges, artifacts, settings.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from embver.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("spaces", "versions", "aliases", "alias_events", "edges", "artifacts", "settings")


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        schema.metadata.tables[name].create(bind)
    op.create_index("ix_versions_space", "versions", ["space_id"])
    op.create_index("ix_versions_identity", "versions", ["space_id", "identity_hash"])
    op.create_index("ix_alias_events_space", "alias_events", ["space_id", "name"])
    op.create_index("ix_edges_child", "edges", ["child_id"])
    op.create_index("ix_edges_parent", "edges", ["parent_id"])


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(_TABLES):
        schema.metadata.tables[name].drop(bind)
