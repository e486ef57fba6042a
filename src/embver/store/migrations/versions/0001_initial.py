"""Initial catalog schema: spaces, versions, aliases, alias events, edges, artifacts, settings.

Frozen copy of the tables as they were at revision 0001: later schema changes
come as new revisions, never as edits here.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "spaces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False, server_default="plain"),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("meta", sa.JSON, nullable=False, default=dict),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id"), nullable=False),
        sa.Column("major", sa.Integer, nullable=False),
        sa.Column("minor", sa.Integer, nullable=False),
        sa.Column("patch", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("bump", sa.String(8), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False, default=list),
        sa.Column("recipe", sa.JSON, nullable=False),
        sa.Column("identity_hash", sa.String(64), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("dtype", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("data_uri", sa.Text, nullable=False),
        sa.Column("lance_version", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("segments", sa.JSON, nullable=False, default=list),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("verdict", sa.JSON, nullable=True),
        sa.Column("author", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("space_id", "major", "minor", "patch", name="uq_version_number"),
    )

    op.create_table(
        "aliases",
        sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "alias_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("space_id", sa.Integer, sa.ForeignKey("spaces.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("from_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("to_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "edges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("child_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False, default=dict),
    )

    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False, default=dict),
        sa.Column("data_uri", sa.Text, nullable=True),
        sa.Column("version_ids", sa.JSON, nullable=False, default=list),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_artifact_key"),
    )

    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON, nullable=True),
    )
    op.create_index("ix_versions_space", "versions", ["space_id"])
    op.create_index("ix_versions_identity", "versions", ["space_id", "identity_hash"])
    op.create_index("ix_alias_events_space", "alias_events", ["space_id", "name"])
    op.create_index("ix_edges_child", "edges", ["child_id"])
    op.create_index("ix_edges_parent", "edges", ["parent_id"])


def downgrade() -> None:
    for name in ("settings", "artifacts", "edges", "alias_events", "aliases", "versions", "spaces"):
        op.drop_table(name)
