"""Sample events for every template: the preview API renders them, and the PHI test renders
every template version with them plus `PHI_TRAPS`, values a careless template could print.
Pure data and the context the handlers would build from it; no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from services.notifications.messages.domain import plan_for
from shared.events.catalogue import (
    AccountNoticeIssued,
    AccountSentToCollections,
    Adjustment,
    AuthorizationExpiring,
    ClaimDenied,
    ClaimFollowupDue,
    ClaimRejected,
    EligibilityChecked,
    InstallmentDue,
    NoticePart,
    PaymentLate,
    PaymentPosted,
    PaymentUnderpaid,
    RejectionReason,
    StatementIssued,
)
from shared.events.frontoffice import (
    FinancialAssistanceApproved,
    TicketAssigned,
    TicketEscalated,
    TicketResolved,
)

_AT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
_CLAIM = UUID("3f2c9a10-5b7e-4d21-9c8a-0e6f1b2d3c4e")
_ACCOUNT = "ACC-1001"

SAMPLE_EVENTS: dict[str, tuple[str, BaseModel]] = {
    "payment_receipt": (
        "payment.posted",
        PaymentPosted(
            payment_id=UUID(int=1),
            source="patient",
            account_id=_ACCOUNT,
            amount=Decimal("40.25"),
            method="card",
            posted_at=_AT,
            receipt_number="R-20260302-1A2B3C4D",
        ),
    ),
    "insurance_processed": (
        "payment.posted",
        PaymentPosted(
            payment_id=UUID(int=2),
            source="insurer",
            claim_id=_CLAIM,
            account_id=_ACCOUNT,
            amount=Decimal("1180.00"),
            method="eft",
            posted_at=_AT,
            payer_id="SBX001",
            claim_status_code="1",
            charge=Decimal("1500.00"),
            allowed=Decimal("1300.00"),
            patient_responsibility=Decimal("120.00"),
        ),
    ),
    "statement_ready": (
        "statement.issued",
        StatementIssued(
            statement_id=UUID(int=3),
            account_id=_ACCOUNT,
            balance=Decimal("245.10"),
            due_date=date(2026, 4, 1),
            issued_at=_AT,
        ),
    ),
    "installment_reminder": (
        "payment_plan.installment_due",
        InstallmentDue(
            plan_id=UUID(int=4),
            account_id=_ACCOUNT,
            installment_number=2,
            amount=Decimal("50.00"),
            due_date=date(2026, 3, 15),
        ),
    ),
    "payment_late": (
        "payment.late",
        PaymentLate(
            plan_id=UUID(int=4),
            account_id=_ACCOUNT,
            installment_number=2,
            amount=Decimal("50.00"),
            due_date=date(2026, 3, 15),
            days_late=10,
        ),
    ),
    "coverage_problem": (
        "eligibility.checked",
        EligibilityChecked(
            check_id=UUID(int=5),
            patient_id=_ACCOUNT,
            payer_id="SBX001",
            status="inactive",
            date_of_service=date(2026, 3, 20),
            checked_at=_AT,
        ),
    ),
    "collections_notice": (
        "account.sent_to_collections",
        AccountSentToCollections(
            account_id=_ACCOUNT, agency="Acme Recovery Services", balance=Decimal("612.40"), referred_at=_AT
        ),
    ),
    "account_notice": (
        "account_notice.issued",
        AccountNoticeIssued(
            notice_id=UUID(int=7),
            account_id=_ACCOUNT,
            cycle_date=date(2026, 3, 25),
            balance=Decimal("612.40"),
            parts=[
                NoticePart(
                    kind="past_due_statement",
                    amount=Decimal("512.40"),
                    due_date=date(2026, 4, 24),
                    statement_id=UUID(int=8),
                    days_late=54,
                    step=3,
                ),
                NoticePart(
                    kind="installment_late",
                    amount=Decimal("50.00"),
                    due_date=date(2026, 3, 15),
                    plan_id=UUID(int=4),
                    installment_number=2,
                    days_late=10,
                ),
                NoticePart(
                    kind="installment_due",
                    amount=Decimal("50.00"),
                    due_date=date(2026, 4, 1),
                    plan_id=UUID(int=4),
                    installment_number=3,
                ),
                NoticePart(
                    kind="final_notice",
                    amount=Decimal("612.40"),
                    agency="Acme Recovery Services",
                    collections_on=date(2026, 4, 24),
                    step=4,
                ),
            ],
            issued_at=_AT,
        ),
    ),
    "claim_denied": (
        "claim.denied",
        ClaimDenied(
            claim_id=_CLAIM,
            payer_id="SBX001",
            patient_id=_ACCOUNT,
            adjustments=[Adjustment(group_code="CO", reason_code="50", amount=Decimal("300.00"))],
            remark_codes=["N130"],
            action="appeal",
            denied_at=_AT,
            denied_amount=Decimal("300.00"),
        ),
    ),
    "claim_rejected": (
        "claim.rejected",
        ClaimRejected(
            claim_id=_CLAIM,
            patient_control_number="PCN00001",
            reasons=[RejectionReason(code="A7:562", message="Entity's National Provider Identifier")],
            rejected_at=_AT,
            payer_id="SBX001",
        ),
    ),
    "claim_followup": (
        "claim.followup_due",
        ClaimFollowupDue(
            claim_id=_CLAIM, payer_id="SBX003", submitted_at=_AT, days_outstanding=45, due_at=_AT
        ),
    ),
    "payment_underpaid": (
        "payment.underpaid",
        PaymentUnderpaid(
            claim_id=_CLAIM,
            payer_id="SBX001",
            code="99213",
            expected_allowed=Decimal("92.00"),
            actual_allowed=Decimal("80.00"),
            variance=Decimal("12.00"),
            detected_at=_AT,
        ),
    ),
    "authorization_expiring": (
        "authorization.expiring",
        AuthorizationExpiring(
            authorization_id=UUID(int=6),
            patient_id=_ACCOUNT,
            payer_id="SBX001",
            end_date=date(2026, 3, 31),
            days_left=5,
            visits_left=1,
        ),
    ),
}

_TICKET = UUID("6a1d7c2e-9b3f-4e58-8a0d-2c4b6e8f1a3c")
SAMPLE_EVENTS.update(
    {
        "ticket_assigned": (
            "ticket.assigned",
            TicketAssigned(
                ticket_id=_TICKET, number="T-000123", category="dispute", assignee_id="staff-1",
                assigned_by="staff-2", due_at=_AT, assigned_at=_AT,
            ),
        ),
        "ticket_escalated": (
            "ticket.escalated",
            TicketEscalated(
                ticket_id=_TICKET, number="T-000123", category="dispute", assignee_id="staff-1",
                escalated_to="billing-manager", level=1, due_at=_AT, breached_at=_AT,
            ),
        ),
        "ticket_resolved": (
            "ticket.resolved",
            TicketResolved(
                ticket_id=_TICKET, number="T-000123", category="dispute", requester_kind="patient",
                requester_id=_ACCOUNT, account_id=_ACCOUNT, patient_id=_ACCOUNT, channel="phone",
                resolution_code="corrected", resolved_at=_AT,
            ),
        ),
        "assistance_approved": (
            "financial_assistance.approved",
            FinancialAssistanceApproved(
                application_id=UUID(int=9), account_id=_ACCOUNT, patient_id=_ACCOUNT, tier="full",
                discount_percent=Decimal("100"), poverty_percent=Decimal("150.00"), guidelines_year=2026,
                decided_by="staff-1", approved_by="staff-2", decided_at=_AT,
            ),
        ),
    }
)  # fmt: skip

# What the practice knows about the sample patient and must never put in email or SMS.
PHI_TRAPS: dict[str, Any] = {
    "patient_name": "Jane Q. Doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "birth_date": date(1961, 4, 12),
    "member_id": "SBX10001",
    "diagnoses": ["E11.9", "I10"],
    "procedure_codes": ["99213", "80053"],
}
PHI_TRAP_VALUES: tuple[str, ...] = (
    "Jane",
    "Doe",
    "1961-04-12",
    "04/12/1961",
    "Apr 12, 1961",
    "SBX10001",
    "E11.9",
    "E119",
    "I10",
    "99213",
    "80053",
)


def sample_context(template: str, settings: Any) -> dict[str, Any]:
    """The context a template gets in production for its sample event."""
    topic, payload = SAMPLE_EVENTS[template]
    plan = plan_for(topic, payload)
    assert plan is not None and plan.template == template
    return plan.template_context(settings)
