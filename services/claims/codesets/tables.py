"""Code data tables (schema `claims`): one row per load (a version of one kind, effective from a
date) and the loaded rows, each tagged with its load. A version is never changed after its
load: a new quarter's file is a new load; a wrong load is withdrawn whole."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, ForeignKey
from sqlmodel import Field, SQLModel

from services.claims.claims.tables import timestamp_column


class CodeDataLoad(SQLModel, table=True):
    """A version: which file of which kind, effective from when, loaded by whom."""

    __tablename__ = "code_data_loads"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    kind: str  # ncci-ptp | mue | hcpcs | cpt
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    source: str  # the file's name
    sha256: str  # of the file's bytes: loading the same file for the same date again is a no-op
    row_count: int
    loaded_by: str
    loaded_at: datetime = timestamp_column(False)


def _load_id() -> int:
    return Field(
        sa_column=Column(
            BigInteger, ForeignKey("code_data_loads.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )


class NcciPtpEdit(SQLModel, table=True):
    """A row of the NCCI procedure-to-procedure practitioner edits."""

    __tablename__ = "ncci_ptp_edits"

    load_id: int = _load_id()
    column1: str = Field(primary_key=True)
    column2: str = Field(primary_key=True)
    effective_date: date = Field(sa_column=Column(Date, primary_key=True, nullable=False))
    deletion_date: date | None = Field(default=None, sa_column=Column(Date))
    prior_1996: bool = False
    modifier_indicator: str  # 0 | 1 | 9
    rationale: str | None = None


class MueEdit(SQLModel, table=True):
    """A row of the MUE practitioner services edits."""

    __tablename__ = "mue_edits"

    load_id: int = _load_id()
    code: str = Field(primary_key=True)
    units: int
    mai: int  # MUE adjudication indicator: 1 line, 2 date of service (policy), 3 (clinical)
    rationale: str | None = None


class HcpcsCode(SQLModel, table=True):
    """A code or modifier of a code set: the HCPCS Level II file's records 3 and 7, or a row of
    the practice's CPT (HCPCS Level I) list."""

    __tablename__ = "hcpcs_codes"

    load_id: int = _load_id()
    code: str = Field(primary_key=True)
    is_modifier: bool = Field(primary_key=True)
    short_description: str | None = None
    long_description: str | None = None
    added_date: date | None = Field(default=None, sa_column=Column(Date))
    effective_date: date | None = Field(default=None, sa_column=Column(Date))
    termination_date: date | None = Field(default=None, sa_column=Column(Date))
    action_code: str | None = None


ROW_TABLES = {"ncci-ptp": NcciPtpEdit, "mue": MueEdit, "hcpcs": HcpcsCode, "cpt": HcpcsCode}
