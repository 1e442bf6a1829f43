"""What each event means to whom, and what a message may say: pure rules, no I/O.

One function per event type turns the payload into a `Plan`. The context holds only what a
message may say (amounts, dates, the practice, a sign-in link, short internal references,
payer ids, reason and action codes), so a template cannot print what it was never given.
Events that concern nobody (an active eligibility check, a payment with no account) plan
nothing. `find_phi` is the last check on the text of an email or SMS before it is recorded
for sending; `push_status` decides, per recipient and channel, whether it is sent, held for
quiet hours or suppressed.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from services.notifications.recipients.domain import Directory, Target, quiet_until
from shared.events.catalogue import (
    AccountNoticeIssued,
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
from shared.events.frontoffice import (
    FinancialAssistanceApproved,
    TicketAssigned,
    TicketEscalated,
    TicketResolved,
)

with warnings.catch_warnings():
    # The code set loads its data through a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10_cm as icd10

ACTION_LABELS = {
    "correct_and_resubmit": "Correct and resubmit",
    "appeal": "Appeal",
    "bill_patient": "Bill the patient",
    "write_off": "Write off",
    "bill_other_payer": "Bill the other payer",
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
    # Staff named by id (a ticket's assignee, its escalation contact): they, and no role, hear.
    staff_ids: tuple[str, ...] = ()

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


def statement_issued(s: StatementIssued) -> Plan | None:
    if s.notice_id is not None:
        return None  # told in the cycle's one account notice
    return Plan(
        "statement_ready",
        "statements",
        {"balance": s.balance, "due_date": s.due_date},
        patient_id=s.account_id,
    )


def installment_due(i: InstallmentDue) -> Plan | None:
    if i.notice_id is not None:
        return None  # told in the cycle's one account notice
    ctx = {"installment_number": i.installment_number, "amount": i.amount, "due_date": i.due_date}
    return Plan("installment_reminder", "payment_plans", ctx, patient_id=i.account_id)


def payment_late(p: PaymentLate) -> Plan | None:
    if p.notice_id is not None:
        return None  # told in the cycle's one account notice
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


def sent_to_collections(a: AccountSentToCollections) -> Plan | None:
    if a.notice_id is not None:
        return None  # told in the cycle's one account notice
    ctx = {"balance": a.balance, "agency": a.agency, "referred_at": a.referred_at}
    return Plan("collections_notice", "collections", ctx, patient_id=a.account_id)


# The category of a combined notice: its weightiest part's (a required collections notice goes
# out despite an opt-out; a late notice before a statement).
_NOTICE_CATEGORIES = (
    ({"final_notice", "sent_to_collections"}, "collections"),
    ({"installment_late", "past_due_statement"}, "late_payments"),
    ({"statement"}, "statements"),
    ({"installment_due"}, "payment_plans"),
)


def account_notice(n: AccountNoticeIssued) -> Plan:
    """Everything one cycle tells the patient about an account: one message, parts in order."""
    kinds = {p.kind for p in n.parts}
    category = next(c for part_kinds, c in _NOTICE_CATEGORIES if kinds & part_kinds)
    parts = [p.model_dump(include=_PART_FIELDS) for p in n.parts]
    ctx = {"balance": n.balance, "cycle_date": n.cycle_date, "parts": parts, "count": len(parts)}
    return Plan("account_notice", category, ctx, patient_id=n.account_id)


_PART_FIELDS = {"kind", "amount", "due_date", "installment_number", "days_late", "agency", "collections_on"}


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


# --- the front office (issue 19): the ticket number and category only, never the ticket's text ---

TICKET_CATEGORY_LABELS = {
    "balance_question": "balance question",
    "insurance_question": "insurance question",
    "dispute": "dispute",
    "complaint": "complaint",
    "payment_arrangement": "payment arrangement",
    "financial_assistance": "financial assistance",
}


def ticket_assigned(t: TicketAssigned) -> Plan:
    ctx = {"number": t.number, "category_label": TICKET_CATEGORY_LABELS[t.category], "due_at": t.due_at}
    return Plan("ticket_assigned", "tickets", ctx, staff=True, staff_ids=(t.assignee_id,))


def ticket_escalated(t: TicketEscalated) -> Plan:
    """The escalation contact answers for it now; the assignee hears it is late."""
    ctx = {
        "number": t.number,
        "category_label": TICKET_CATEGORY_LABELS[t.category],
        "due_at": t.due_at,
        "level": t.level,
    }
    named = (t.escalated_to, *((t.assignee_id,) if t.assignee_id else ()))
    return Plan("ticket_escalated", "tickets", ctx, staff=True, staff_ids=named)


def ticket_resolved(t: TicketResolved) -> Plan | None:
    """A patient who asked hears it was resolved (the number only: the answer itself is given
    where they sign in or by staff); a practice's inquiry is answered by staff directly."""
    if t.requester_kind != "patient" or t.patient_id is None:
        return None
    return Plan("ticket_resolved", "inquiries", {"number": t.number}, patient_id=t.patient_id)


def assistance_approved(a: FinancialAssistanceApproved) -> Plan:
    """The patient hears their application was approved; the discount and the new balance are
    shown where they sign in (an amount is not needed to act on this message)."""
    return Plan("assistance_approved", "assistance", {}, patient_id=a.patient_id)


PLANNERS: dict[str, Callable[[Any], Plan | None]] = {
    "payment.posted": payment_posted,
    "statement.issued": statement_issued,
    "payment_plan.installment_due": installment_due,
    "payment.late": payment_late,
    "eligibility.checked": eligibility_checked,
    "account.sent_to_collections": sent_to_collections,
    "account_notice.issued": account_notice,
    "claim.denied": claim_denied,
    "claim.rejected": claim_rejected,
    "claim.followup_due": claim_followup_due,
    "payment.underpaid": payment_underpaid,
    "authorization.expiring": authorization_expiring,
    "ticket.assigned": ticket_assigned,
    "ticket.escalated": ticket_escalated,
    "ticket.resolved": ticket_resolved,
    "financial_assistance.approved": assistance_approved,
}


def plan_for(topic: str, payload: BaseModel) -> Plan | None:
    return PLANNERS[topic](payload)


def targets(directory: Directory, plan: Plan) -> list[Target]:
    """Who hears about `plan`: its patient (known or not), or the subscribed staff."""
    if plan.staff and plan.staff_ids:
        return directory.staff_named(plan.staff_ids, plan.category)
    if plan.staff:
        return directory.staff_for(plan.category, plan.payer_id)
    assert plan.patient_id is not None
    return [directory.patient(plan.patient_id, plan.category)]


# --- rendered text ---------------------------------------------------------------------------

BLOCKS = ("subject", "email", "sms", "inbox")


@dataclass(frozen=True)
class Rendered:
    """Every block of one template version, rendered for one event."""

    template: str
    version: int
    subject: str
    email: str
    sms: str
    inbox: str

    def text_for(self, channel: str) -> str:
        return {"email": self.email, "sms": self.sms, "inbox": self.inbox}[channel]


def money(value: Decimal | int | str) -> str:
    return f"${Decimal(value):,.2f}"


def day(value: date | datetime) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def iso(value: date | datetime) -> str:
    return f"{value:%Y-%m-%d}"


# --- the PHI guard ---------------------------------------------------------------------------
# Email and SMS leave the practice's systems, so they may carry an amount, a date, the
# practice's name and a sign-in link, never a diagnosis, a procedure code or a full member id.
# The templates are written that way and a test proves it for every template; this scan is
# also the last check before a send (a hit fails the delivery instead of sending it).
# It reports the kind of leak, never the leaked value, so its output is safe to log.
# ICD-10-CM shape (letter, digit, digit or letter, optional dot and 1-4 more); a token of
# that shape counts only when the code set knows it, so "R-2026" or "SBX001" do not.
_ICD10_SHAPE = re.compile(r"\b[A-TV-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?\b")
# CPT (five digits, category II/III end in F/T) and HCPCS level II (a letter and four digits).
_CPT = re.compile(r"(?<![\d$,.])\b\d{4}[0-9FT]\b(?![.,]\d)")
_HCPCS = re.compile(r"\b[A-V]\d{4}\b")
# Member ids: the sandbox payers' format, and anything introduced as a member/subscriber id.
_MEMBER_ID = re.compile(
    r"\bSBX\d{5}S?\b|\b(?:member|subscriber|policy)\s*(?:id|number|#)\s*[:#]?\s*[A-Z0-9\-]{4,}", re.I
)
_DOB = re.compile(r"\b(?:date of birth|DOB|born)\b", re.I)


def find_phi(text: str, forbidden: Iterable[str] = ()) -> list[str]:
    """The kinds of PHI found in `text` (empty when clean).

    `forbidden` adds exact values that must not appear (e.g. the sample patient's name and
    birth date in tests).
    """
    kinds: list[str] = []
    if any(icd10.is_valid_item(m.group(0)) for m in _ICD10_SHAPE.finditer(text)):
        kinds.append("diagnosis_code")
    if _CPT.search(text) or _HCPCS.search(text):
        kinds.append("procedure_code")
    if _MEMBER_ID.search(text):
        kinds.append("member_id")
    if _DOB.search(text):
        kinds.append("birth_date")
    lowered = text.lower()
    if any(value and value.lower() in lowered for value in forbidden):
        kinds.append("forbidden_value")
    return kinds


def push_status(
    target: Target, channel: str, leaks: list[str], required: bool, now: datetime
) -> tuple[str, str | None, datetime]:
    """(status, reason, not before) of one email or SMS: the PHI guard's finding on its text,
    opt-out (unless the category is required), quiet hours."""
    if leaks:
        return "failed", "phi_guard: " + ",".join(leaks), now
    opt_in, quiet_start, quiet_end = target.prefs.get(channel, (True, None, None))
    if not opt_in and not required:
        return "suppressed", "opted_out", now
    until = quiet_until(now, quiet_start, quiet_end, target.timezone)
    return ("pending", "quiet_hours", until) if until else ("pending", None, now)
