"""The tables the collections sub-domain owns: referrals (migrations 0003 and 0009) and
disputes (0009, their ticket 0017)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Column, DateTime, Numeric
from sqlmodel import Field, SQLModel


class CollectionsReferral(SQLModel, table=True):
    """An account handed to the collections agency (one open referral per account); a payment
    or a dispute afterwards recalls it (recalled_at, recall_reason, recall_amount)."""

    __tablename__ = "collections_referrals"

    id: UUID = Field(primary_key=True)
    account_id: str
    plan_id: UUID | None = None
    reason: str
    balance: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    agency: str
    referred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    recalled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    recall_reason: str | None = None  # patient_payment | insurance_payment | dispute
    recall_amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))


class AccountDispute(SQLModel, table=True):
    """The patient disputes what the account says they owe: dunning (statements and collections)
    waits until it is resolved. `source_id`: the front office's ticket, when a dispute ticket
    opened it (one open dispute per ticket)."""

    __tablename__ = "account_disputes"

    id: UUID = Field(primary_key=True)
    account_id: str
    reason: str
    opened_by: str
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    resolved_by: str | None = None
    resolution: str | None = None
    source_id: UUID | None = None
