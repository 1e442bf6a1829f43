"""Alembic environment of the front office service (its own schema and version table)."""

from shared.migrations import run_env

run_env("frontoffice")
