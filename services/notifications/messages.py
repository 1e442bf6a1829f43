"""What each event means to whom: the template, the category, and a PHI-free context.

One function per event type turns the payload into a `Plan`. The context holds only what a
message may say (amounts, dates, the practice, a sign-in link, short internal references,
payer ids, reason and action codes), so a template cannot print what it was never given.
Events that concern nobody (an active eligibility check, a payment with no account) plan
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from shared.events.catalogue import (
    AccountSentToCollections,
    AuthorizationExpiring,
    ClaimDenied,
    ClaimFollowupDue,
    ClaimRejected,
    EligibilityChecked,
    InstallmentDue,
    PaymentLate,
    PaymentPosted,
    PaymentUnderpaid,
    StatementIssued,
)

ACTION_LABELS = {
    "correct_and_resubmit": "Correct and resubmit",
    "appeal": "Appeal",
    "bill_patient": "Bill the patient",
    "write_off": "Write off",
}


@dataclass(frozen=True)
class Plan:
    """Tell `patient_id` (a patient's account) or the staff subscribed to `category`/`payer_id`."""

    template: str
    category: str
    context: dict[str, Any]
    patient_id: str | None = None
    payer_id: str | None = None
    staff: bool = False

    def template_context(self, settings: Any) -> dict[str, Any]:
        """What the template renders: the plan's context, the practice and where to sign in."""
        return {**self.context, "practice": settings.practice_name, "sign_in_url": settings.sign_in_url}


def ref(value: UUID | str | None) -> str:
    """A short internal reference staff can search for; never a payer's or a patient's number."""
    return str(value)[:8] if value else "unknown"


def payment_posted(p: PaymentPosted) -> Plan | None:
    if p.account_id is None:
        return None  # an insurer payment not tied to an account here: nobody to tell
    if p.source == "patient":
        ctx = {"amount": p.amount, "posted_at": p.posted_at, "receipt_number": p.receipt_number}
        return Plan("payment_receipt", "receipts", ctx, patient_id=p.account_id)
    if p.claim_status_code in ("4", "22"):
        # A denial is staff work (claim.denied); a reversal is followed by the corrected posting,
        # which is what the patient hears about.
        return None
    ctx = {"amount": p.amount, "patient_responsibility": p.patient_responsibility}
    return Plan("insurance_processed", "receipts", ctx, patient_id=p.account_id)


def statement_issued(s: StatementIssued) -> Plan:
    return Plan(
        "statement_ready",
        "statements",
        {"balance": s.balance, "due_date": s.due_date},
        patient_id=s.account_id,
    )


def installment_due(i: InstallmentDue) -> Plan:
    ctx = {"installment_number": i.installment_number, "amount": i.amount, "due_date": i.due_date}
    return Plan("installment_reminder", "payment_plans", ctx, patient_id=i.account_id)


def payment_late(p: PaymentLate) -> Plan:
    ctx = {
        "installment_number": p.installment_number,
        "amount": p.amount,
        "due_date": p.due_date,
        "days_late": p.days_late,
    }
    return Plan("payment_late", "late_payments", ctx, patient_id=p.account_id)


def eligibility_checked(e: EligibilityChecked) -> Plan | None:
    # Only a coverage problem before the visit is worth a message; errors are staff work.
    if e.status != "inactive" or e.date_of_service < e.checked_at.date():
        return None
    return Plan(
        "coverage_problem", "coverage", {"date_of_service": e.date_of_service}, patient_id=e.patient_id
    )


def sent_to_collections(a: AccountSentToCollections) -> Plan:
    ctx = {"balance": a.balance, "agency": a.agency, "referred_at": a.referred_at}
    return Plan("collections_notice", "collections", ctx, patient_id=a.account_id)


def claim_denied(d: ClaimDenied) -> Plan:
    ctx = {
        "claim_ref": ref(d.claim_id),
        "payer_id": d.payer_id,
        "denied_amount": d.denied_amount,
        "reasons": [f"{a.group_code}-{a.reason_code}" for a in d.adjustments],
        "action": d.action,
        "action_label": ACTION_LABELS[d.action],
    }
    return Plan("claim_denied", "denials", ctx, staff=True, payer_id=d.payer_id)


def claim_rejected(r: ClaimRejected) -> Plan:
    ctx = {
        "claim_ref": ref(r.claim_id or r.patient_control_number),
        "payer_id": r.payer_id,
        "reason_codes": [x.code for x in r.reasons],
    }
    return Plan("claim_rejected", "rejections", ctx, staff=True, payer_id=r.payer_id)


def claim_followup_due(f: ClaimFollowupDue) -> Plan:
    ctx = {
        "claim_ref": ref(f.claim_id),
        "payer_id": f.payer_id,
        "days_outstanding": f.days_outstanding,
        "due_at": f.due_at,
    }
    return Plan("claim_followup", "followups", ctx, staff=True, payer_id=f.payer_id)


def payment_underpaid(u: PaymentUnderpaid) -> Plan:
    ctx = {
        "claim_ref": ref(u.claim_id),
        "payer_id": u.payer_id,
        "expected_allowed": u.expected_allowed,
        "actual_allowed": u.actual_allowed,
        "variance": u.variance,
    }
    return Plan("payment_underpaid", "underpayments", ctx, staff=True, payer_id=u.payer_id)


def authorization_expiring(a: AuthorizationExpiring) -> Plan:
    ctx = {
        "authorization_ref": ref(a.authorization_id),
        "payer_id": a.payer_id,
        "end_date": a.end_date,
        "days_left": a.days_left,
        "visits_left": a.visits_left,
    }
    return Plan("authorization_expiring", "authorizations", ctx, staff=True, payer_id=a.payer_id)


PLANNERS: dict[str, Callable[[Any], Plan | None]] = {
    "payment.posted": payment_posted,
    "statement.issued": statement_issued,
    "payment_plan.installment_due": installment_due,
    "payment.late": payment_late,
    "eligibility.checked": eligibility_checked,
    "account.sent_to_collections": sent_to_collections,
    "claim.denied": claim_denied,
    "claim.rejected": claim_rejected,
    "claim.followup_due": claim_followup_due,
    "payment.underpaid": payment_underpaid,
    "authorization.expiring": authorization_expiring,
}


def plan_for(topic: str, payload: BaseModel) -> Plan | None:
    return PLANNERS[topic](payload)
