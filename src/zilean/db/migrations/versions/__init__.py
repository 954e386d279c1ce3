"""Alembic revision files, oldest first by revision id."""
