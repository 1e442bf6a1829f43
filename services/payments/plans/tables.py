"""The tables the plans sub-domain owns: plans, their installments, every version of a
plan (append-only), and referrals of accounts to a collections agency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class PaymentPlan(SQLModel, table=True):
    """A patient balance split into installments; at most one active plan per account."""

    __tablename__ = "payment_plans"

    id: UUID = Field(primary_key=True)
    account_id: str
    total: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    installment_count: int
    frequency: str  # weekly | biweekly | monthly
    first_due_date: date
    status: str = "active"  # active | completed | collections | cancelled
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1  # the newest row of payment_plan_versions


class PlanVersion(SQLModel, table=True):
    """The plan as it stood after each creation, change or cancellation, with its schedule;
    never changed (a trigger forbids it), so a plan's history is complete."""

    __tablename__ = "payment_plan_versions"

    plan_id: UUID = Field(primary_key=True, foreign_key="payment_plans.id")
    version: int = Field(primary_key=True)
    action: str  # created | changed | cancelled
    total: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    installment_count: int
    frequency: str
    first_due_date: date
    status: str
    installments: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    reason: str | None = None
    actor: str
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PlanInstallment(SQLModel, table=True):
    """One installment; `paid` grows with patient payments, the *_notified_at columns make
    each reminder and late notice go out once."""

    __tablename__ = "plan_installments"

    plan_id: UUID = Field(primary_key=True, foreign_key="payment_plans.id")
    number: int = Field(primary_key=True)
    due_date: date
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    paid: Decimal = Field(default=Decimal("0"), sa_column=Column(Numeric(14, 2), nullable=False))
    due_notified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    late_notified_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class CollectionsReferral(SQLModel, table=True):
    """An account handed to the collections agency (once per account)."""

    __tablename__ = "collections_referrals"

    id: UUID = Field(primary_key=True)
    account_id: str = Field(unique=True)
    plan_id: UUID | None = None
    reason: str
    balance: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    agency: str
    referred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
