"""Alembic environment of the gateway service (its own schema and version table)."""

from shared.migrations import run_env

run_env("gateway")
