"""What the agency gets, without I/O: per referral who owes (the guarantor's contact), whose
care it was, each visit with the insurer billed and its itemized charges and payments, and the
last payment date; the recalls; and the same as CSV sections. Minimum necessary: no birth
date, member id, diagnosis or anything else the agency does not need to collect."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.payments.statements.domain import procedure
from shared.paging import DateRange

REFERRAL_COLUMNS = (
    "account_id", "balance", "reason", "agency", "plan_id", "referred_at", "debtor_name", "debtor_address",
    "debtor_phone", "relationship_to_patient", "patient_name", "dates_of_service", "insurance_billed",
    "last_payment_date",
)  # fmt: skip
RECALL_COLUMNS = ("recalled_account_id", "referred_at", "recalled_at", "reason", "amount", "balance")
ITEM_COLUMNS = ("item_account_id", "date_of_service", "date", "kind", "description", "amount")
_KINDS = {"payment": "patient_payment", "refund": "patient_refund"}
_CHARGE = re.compile(r"^Charge (\w{5})$")


def _item(row: Any) -> dict[str, Any]:
    description = row.description
    if row.entry_type == "charge" and (m := _CHARGE.match(description)):
        description = procedure(m.group(1), row.amount)["description"]
    return {
        "date": row.occurred_at.date().isoformat(),
        "kind": _KINDS.get(row.entry_type, row.entry_type),
        "description": description,
        "amount": str(Decimal(row.amount)),
    }


def visits(rows: Sequence[Any], claims: dict[Any, Any]) -> list[dict[str, Any]]:
    """An account's visits (one per ledger item; unapplied money last), each with the insurer
    billed (from the claim copy) and its itemized charges and payments, oldest first."""
    by_item: dict[Any, list[Any]] = {}
    for r in rows:
        by_item.setdefault(r.item_id, []).append(r)
    out = []
    for item_id, item_rows in by_item.items():
        dos = min((r.service_date for r in item_rows if r.service_date), default=None)
        claim = claims.get(item_id)
        billed = {"payer": claim.payer_name, "payer_id": claim.payer_id} if claim else None
        out.append(
            {
                "date_of_service": dos.isoformat() if dos else None,
                "insurance_billed": billed,
                "items": [_item(r) for r in item_rows],
            }
        )
    return sorted(out, key=lambda v: (v["date_of_service"] is None, v["date_of_service"] or ""))


def within(dates: DateRange, moment: datetime) -> bool:
    """Whether a moment falls on a day of the range (UTC days, either end open)."""
    day = moment.astimezone(UTC).date()
    after_start = dates.date_from is None or day >= dates.date_from
    return after_start and (dates.date_to is None or day <= dates.date_to)


def last_payment(rows: Iterable[Any]) -> date | None:
    """The debtor's last payment (the date the agency and credit rules count from)."""
    return max((r.occurred_at.date() for r in rows if r.entry_type == "payment"), default=None)


def debtor(parties: Any | None) -> dict[str, Any] | None:
    if parties is None:
        return None
    g = parties.guarantor
    return {
        "name": g["name"],
        "address": g.get("address"),
        "phone": g.get("phone"),
        "relationship_to_patient": parties.relationship,
    }


def referral(row: Any, parties: Any | None, rows: Sequence[Any], claims: dict[Any, Any]) -> dict[str, Any]:
    account_visits = visits(rows, claims)
    last = last_payment(rows)
    return {
        "account_id": row.account_id,
        "referred_at": row.referred_at.isoformat(),
        "reason": row.reason,
        "agency": row.agency,
        "balance": str(row.balance),
        "plan_id": str(row.plan_id) if row.plan_id else None,
        "debtor": debtor(parties),
        "patient_name": parties.patient["name"] if parties else None,
        "dates_of_service": sorted({v["date_of_service"] for v in account_visits if v["date_of_service"]}),
        "visits": account_visits,
        "last_payment_date": last.isoformat() if last else None,
        "recalled_at": row.recalled_at.isoformat() if row.recalled_at else None,
    }


def recall(row: Any, balance: Decimal) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "referred_at": row.referred_at.isoformat(),
        "recalled_at": row.recalled_at.isoformat(),
        "reason": row.recall_reason,
        "amount": str(row.recall_amount) if row.recall_amount is not None else None,
        "balance": str(balance),
    }


def _address(a: dict[str, Any] | None) -> str:
    if not a:
        return ""
    street = ", ".join(x for x in (a.get("line1"), a.get("line2")) if x)
    return f"{street}, {a['city']}, {a['state']} {a['postal_code']}"


def export_csv(export: dict[str, Any]) -> str:
    """The export as CSV: the referrals (the first six columns as before), a blank line, the
    recalls, a blank line, the itemized charges and payments."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(REFERRAL_COLUMNS)
    for r in export["referrals"]:
        d = r["debtor"] or {}
        billed = sorted({v["insurance_billed"]["payer"] for v in r["visits"] if v["insurance_billed"]})
        w.writerow([
            r["account_id"], r["balance"], r["reason"], r["agency"], r["plan_id"] or "", r["referred_at"],
            d.get("name", ""), _address(d.get("address")), d.get("phone") or "",
            d.get("relationship_to_patient", ""), r["patient_name"] or "", ";".join(r["dates_of_service"]),
            ";".join(billed), r["last_payment_date"] or "",
        ])  # fmt: skip
    out.write("\n")
    w.writerow(RECALL_COLUMNS)
    for c in export["recalls"]:
        w.writerow([c["account_id"], c["referred_at"], c["recalled_at"], c["reason"], c["amount"] or "",
                    c["balance"]])  # fmt: skip
    out.write("\n")
    w.writerow(ITEM_COLUMNS)
    for r in export["referrals"]:
        for v in r["visits"]:
            for i in v["items"]:
                w.writerow([r["account_id"], v["date_of_service"] or "", i["date"], i["kind"],
                            i["description"], i["amount"]])  # fmt: skip
    return out.getvalue()
