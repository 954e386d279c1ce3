"""Alembic migrations for zilean.db.schema; run them with `zilean db upgrade` (see zilean.db.migrate)."""
