"""Alembic environment of the eligibility service (its own schema and version table)."""

from shared.migrations import run_env

run_env("eligibility")
