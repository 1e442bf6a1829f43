"""Alembic environment of the claims service (its own schema and version table)."""

from shared.migrations import run_env

run_env("claims")
