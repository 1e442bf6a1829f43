"""The one catalogue of integration events: every topic, its schema, owner and consumers.

Partners read this through the generated AsyncAPI document (docs/asyncapi.json, also
served at /asyncapi). Contracts only grow: a new optional field keeps the version; any
other change is a new `type` version (`.v2`) published beside the old one.

Money is a decimal string in JSON ("125.00"), never a float. Events carry internal ids;
names, birth dates and member ids stay in the owning service, except where the claims
service needs them to bill: encounter.completed's patient and coverages (from the EHR) and
the member ids of eligibility.checked's other payers (the next payer is billed with them).
Payments keeps from encounter.completed only the patient's and guarantor's name, address and
phone (statements and the collections agency need them).

The front office's registry (issue 19) is where demographics and coverages are typed:
patient.updated and coverage.updated carry the whole current record (PHI) to the services that
bill, check or send statements with it, and eligibility.discrepancy_found carries both values
of what a 271 says differently back to it. Ticket, hold and assistance events carry ids and
codes only.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from shared.events.clearinghouse import (
    AckError as AckError,
    ClaimAcknowledged as ClaimAcknowledged,
    ClaimRejected as ClaimRejected,
    ClaimStatusCode as ClaimStatusCode,
    ClaimStatusReported as ClaimStatusReported,
    LineStatus as LineStatus,
    RejectionReason as RejectionReason,
    RemittanceReceived as RemittanceReceived,
    SetAck as SetAck,
    SubmissionFileAcknowledged as SubmissionFileAcknowledged,
)
from shared.events.frontoffice import (
    AccountHoldPlaced as AccountHoldPlaced,
    AccountHoldReleased as AccountHoldReleased,
    CoverageChange as CoverageChange,
    CoverageUpdated as CoverageUpdated,
    Demographics as Demographics,
    DiscrepancyField as DiscrepancyField,
    DiscrepancyFound as DiscrepancyFound,
    FinancialAssistanceApproved as FinancialAssistanceApproved,
    FinancingReferred as FinancingReferred,
    Guarantor as Guarantor,
    PatientUpdated as PatientUpdated,
    RegisteredCoverage as RegisteredCoverage,
    TicketAssigned as TicketAssigned,
    TicketEscalated as TicketEscalated,
    TicketResolved as TicketResolved,
)
from shared.events.notices import (
    AccountNoticeIssued as AccountNoticeIssued,
    AccountRecalled as AccountRecalled,
    AccountSentToCollections as AccountSentToCollections,
    InstallmentDue as InstallmentDue,
    NoticePart as NoticePart,
    PaymentLate as PaymentLate,
    StatementIssued as StatementIssued,
)
from shared.events.payloads import (
    Address as Address,
    AdjudicatedLine as AdjudicatedLine,
    Adjustment as Adjustment,
    AuthorizationExpiring as AuthorizationExpiring,
    AuthorizationRecorded as AuthorizationRecorded,
    BenefitSummary as BenefitSummary,
    ClaimDenied as ClaimDenied,
    ClaimFollowupDue as ClaimFollowupDue,
    ClaimLineSummary as ClaimLineSummary,
    ClaimSubmitted as ClaimSubmitted,
    Coverage as Coverage,
    EligibilityChecked as EligibilityChecked,
    EncounterCompleted as EncounterCompleted,
    EncounterLine as EncounterLine,
    FeeScheduleEntry as FeeScheduleEntry,
    FeeScheduleUpdated as FeeScheduleUpdated,
    Id as Id,
    Money as Money,
    NotificationFailed as NotificationFailed,
    NotificationSent as NotificationSent,
    OtherPayer as OtherPayer,
    Payload as Payload,
    PaymentPosted as PaymentPosted,
    PaymentUnderpaid as PaymentUnderpaid,
    Person as Person,
)
from shared.events.receivables import DenialResolved as DenialResolved

# The partners that publish or consume events, each its own Kafka principal and signing key
# (issue 17 item 1): the EHR sends encounters; the collections agency hears when an account is
# recalled. A partner may publish only its own types, and a consumer believes a partner's event
# only when its signature verifies. The clearinghouse (which speaks for the payers behind it)
# is no Kafka principal: it exchanges X12 files with the gateway service through its SFTP
# mailbox (issue 18), authenticated by its pinned host key, and the gateway publishes what the
# files say. The financing partner (issue 19) hears of the patients referred to it for
# healthcare credit.
EHR = "ehr"
GATEWAY = "gateway"
FRONTOFFICE = "frontoffice"
COLLECTIONS = "collections"
FINANCING = "financing"
PARTNERS: tuple[str, ...] = (EHR, COLLECTIONS, FINANCING)


def is_partner(name: str) -> bool:
    """True for a partner system, False for one of the platform's services."""
    return name in PARTNERS


@dataclass(frozen=True)
class EventSpec:
    """The contract of one event type."""

    type: str
    topic: str
    payload: type[Payload]
    key_fields: tuple[str, ...]
    publisher: str
    consumers: tuple[str, ...]
    summary: str

    def key_of(self, data: BaseModel) -> str:
        """The aggregate id that orders this event (first key field that has a value)."""
        for name in self.key_fields:
            value = getattr(data, name, None)
            if value is not None:
                return str(value)
        raise ValueError(f"{self.type} has none of its key fields {self.key_fields}")


def _spec(
    topic: str, payload: type[Payload], key: str | tuple[str, ...], publisher: str, consumers: tuple[str, ...]
) -> EventSpec:
    keys = (key,) if isinstance(key, str) else key
    doc = (payload.__doc__ or topic).strip().splitlines()[0]
    return EventSpec(f"{topic}.v1", topic, payload, keys, publisher, consumers, doc)


_SPECS = [
    _spec(
        "eligibility.checked", EligibilityChecked, "patient_id", "eligibility", ("claims", "notifications")
    ),
    _spec(
        "authorization.recorded",
        AuthorizationRecorded,
        "patient_id",
        "eligibility",
        ("claims", "notifications"),
    ),
    _spec(
        "authorization.expiring",
        AuthorizationExpiring,
        "patient_id",
        "eligibility",
        ("claims", "notifications"),
    ),
    _spec("encounter.completed", EncounterCompleted, "encounter_id", EHR, ("claims", "payments")),
    _spec("claim.submitted", ClaimSubmitted, "claim_id", "claims", (GATEWAY, "payments", "eligibility")),
    _spec(
        "claim.acknowledged",
        ClaimAcknowledged,
        ("claim_id", "patient_control_number"),
        GATEWAY,
        ("claims", "notifications"),
    ),
    _spec(
        "claim.rejected",
        ClaimRejected,
        ("claim_id", "patient_control_number"),
        GATEWAY,
        ("claims", "notifications"),
    ),
    _spec("remittance.received", RemittanceReceived, "trace_number", GATEWAY, ("payments",)),
    _spec(
        "submission_file.acknowledged",
        SubmissionFileAcknowledged,
        "file_id",
        GATEWAY,
        ("claims",),
    ),
    _spec(
        "claim.status_reported",
        ClaimStatusReported,
        ("claim_id", "patient_control_number"),
        GATEWAY,
        ("claims",),
    ),
    _spec(
        "payment.posted", PaymentPosted, ("claim_id", "account_id"), "payments", ("claims", "notifications")
    ),
    _spec("claim.denied", ClaimDenied, "claim_id", "claims", ("notifications", "payments")),
    _spec(
        "claim.followup_due", ClaimFollowupDue, "claim_id", "claims", ("notifications", "payments", GATEWAY)
    ),
    _spec("denial.resolved", DenialResolved, "claim_id", "payments", ("claims",)),
    _spec("payment.underpaid", PaymentUnderpaid, "claim_id", "payments", ("notifications",)),
    _spec("statement.issued", StatementIssued, "account_id", "payments", ("notifications",)),
    _spec("payment_plan.installment_due", InstallmentDue, "account_id", "payments", ("notifications",)),
    _spec("payment.late", PaymentLate, "account_id", "payments", ("notifications",)),
    _spec(
        "account.sent_to_collections", AccountSentToCollections, "account_id", "payments", ("notifications",)
    ),
    _spec("account_notice.issued", AccountNoticeIssued, "account_id", "payments", ("notifications",)),
    _spec("account.recalled_from_collections", AccountRecalled, "account_id", "payments", (COLLECTIONS,)),
    _spec("fee_schedule.updated", FeeScheduleUpdated, "payer_id", "payments", ("eligibility",)),
    # the front office (issue 19): the registry, its discrepancies, tickets, holds, assistance
    _spec(
        "patient.updated", PatientUpdated, "patient_id", FRONTOFFICE, ("claims", "eligibility", "payments")
    ),
    _spec("coverage.updated", CoverageUpdated, "patient_id", FRONTOFFICE, ("claims", "eligibility")),
    _spec("eligibility.discrepancy_found", DiscrepancyFound, "patient_id", "eligibility", (FRONTOFFICE,)),
    _spec("ticket.assigned", TicketAssigned, "ticket_id", FRONTOFFICE, ("notifications",)),
    _spec("ticket.escalated", TicketEscalated, "ticket_id", FRONTOFFICE, ("notifications",)),
    _spec("ticket.resolved", TicketResolved, "ticket_id", FRONTOFFICE, ("notifications",)),
    _spec("account_hold.placed", AccountHoldPlaced, "account_id", FRONTOFFICE, ("payments",)),
    _spec("account_hold.released", AccountHoldReleased, "account_id", FRONTOFFICE, ("payments",)),
    _spec(
        "financial_assistance.approved",
        FinancialAssistanceApproved,
        "account_id",
        FRONTOFFICE,
        ("payments", "notifications"),
    ),
    _spec("financing.referred", FinancingReferred, "account_id", FRONTOFFICE, ("payments", FINANCING)),
    _spec("notification.sent", NotificationSent, "recipient_id", "notifications", ("operations",)),
    _spec("notification.failed", NotificationFailed, "recipient_id", "notifications", ("operations",)),
]

CATALOGUE: dict[str, EventSpec] = {s.type: s for s in _SPECS}
TOPICS: tuple[str, ...] = tuple(s.topic for s in _SPECS)
_BY_PAYLOAD: dict[type[Payload], EventSpec] = {s.payload: s for s in _SPECS}


def spec_for_type(event_type: str) -> EventSpec:
    return CATALOGUE[event_type]


def spec_for_payload(payload: type[BaseModel]) -> EventSpec:
    return _BY_PAYLOAD[payload]  # type: ignore[index]


def dlq_topic(topic: str) -> str:
    """Where a consumer parks events of `topic` it cannot handle."""
    return f"{topic}.dlq"
