"""Alembic environment of the notifications service (its own schema and version table)."""

from shared.migrations import run_env

run_env("notifications")
