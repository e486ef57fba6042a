"""Alembic migrations of the catalog schema (applied programmatically)."""
