"""What the payments service is: its routes, the events it consumes and its background work."""

from services.payments.account_holds import events as account_holds_events
from services.payments.accounts import api as accounts
from services.payments.approvals import api as approvals
from services.payments.assistance import events as assistance_events
from services.payments.claimcopies import events as claimcopies_events
from services.payments.claimcopies.workers import rematch_worker
from services.payments.collections import api as collections
from services.payments.contracts import api as contracts_api
from services.payments.denials import api as denials_api
from services.payments.deposits import api as deposits
from services.payments.dunning import api as dunning
from services.payments.dunning.workers import cycle_worker
from services.payments.duplicates import api as duplicates_api, workers as duplicates_workers
from services.payments.holds import api as holds_api, workers as holds_workers
from services.payments.limits import api as limits_api
from services.payments.matching import api as matching_api, workers as matching_workers
from services.payments.parties import events as parties_events
from services.payments.patient_payments import api as patient_payments
from services.payments.plans import api as plans
from services.payments.postings import api as postings_api
from services.payments.provider_adjustments import api as provider_adjustments_api
from services.payments.receipts import api as receipts_api, events as receipts_events
from services.payments.receipts.workers import retry_unprocessed
from services.payments.reconciliation import api as reconciliation
from services.payments.reconciliation.workers import match_worker
from services.payments.remittances import api as remittances_api
from services.payments.reports import api as reports
from services.payments.settings import payments_settings
from services.payments.statements import api as statements
from services.payments.underpayments import api as underpayments_api
from shared.app import ServiceDefinition, Worker
from shared.consumer import batched

SERVICE = ServiceDefinition(
    name="payments",
    title="Payments service",
    description="Posts insurer (835) and patient payments to append-only ledgers, checks them against "
    "contracts, issues statements, runs payment plans and refers accounts to collections.",
    routers=[
        receipts_api.router,
        holds_api.router,
        remittances_api.router,
        postings_api.router,
        duplicates_api.router,
        matching_api.router,
        denials_api.router,
        patient_payments.router,
        accounts.router,
        contracts_api.router,
        underpayments_api.router,
        provider_adjustments_api.router,
        statements.router,
        plans.router,
        dunning.router,
        collections.router,
        deposits.router,
        reconciliation.router,
        reports.router,
        approvals.router,
        limits_api.router,
    ],
    handlers={
        # A poll's events in one call each: a few statements per poll instead of per event.
        "claim.submitted": batched(claimcopies_events.on_claims_submitted),
        "remittance.received": batched(receipts_events.on_remittances_received),
        "encounter.completed": batched(parties_events.on_encounters_completed),
        "patient.updated": batched(parties_events.on_patients_updated),
        # The front office's holds and decisions: one event at a time, in order per account.
        "account_hold.placed": account_holds_events.on_hold_placed,
        "account_hold.released": account_holds_events.on_hold_released,
        "financial_assistance.approved": assistance_events.on_assistance_approved,
        "financing.referred": assistance_events.on_financing_referred,
    },
    workers=[
        Worker("account-cycle", cycle_worker, every_seconds=payments_settings().cycle_every_seconds),
        Worker(
            "intake-retry", retry_unprocessed, every_seconds=payments_settings().intake_retry_every_seconds
        ),
        Worker("deposit-matching", match_worker, every_seconds=payments_settings().match_every_seconds),
        Worker("late-match", rematch_worker, every_seconds=payments_settings().rematch_every_seconds),
    ],
    stuck_work=[*matching_workers.PROBES, *holds_workers.PROBES, *duplicates_workers.PROBES],
    tags=[
        {
            "name": "remittances",
            "description": "835 posting, the unmatched and possible-duplicate queues, payers, provider-level "
            "adjustments and forward balances.",
        },
        {
            "name": "patient payments",
            "description": "Card, check, cash and ACH payments with an Idempotency-Key; refunds; receipts.",
        },
        {"name": "accounts", "description": "Balances, aging and the append-only ledger."},
        {
            "name": "denials",
            "description": "Denied balances kept in insurance A/R until worked: billed to the patient (PR) "
            "or written off with approval.",
        },
        {
            "name": "contracts",
            "description": "Fee schedule versions and underpayments (work queue, dispute, recovery, report).",
        },
        {"name": "statements", "description": "Statement cycles; HTML and PDF."},
        {"name": "payment plans", "description": "Installments; the account cycle."},
        {
            "name": "collections",
            "description": "Dunning history, the agency's export, recalls and disputes.",
        },
        {
            "name": "reconciliation",
            "description": "Bank deposits (BAI2 or CSV) matched to 835s and card batches; unmatched, aged.",
        },
        {
            "name": "money limits",
            "description": "The practice's maximum payment, insurer payment or deposit, refund and "
            "write-off, and the threshold over which a write-off waits for a second person "
            "(`payments:admin` sets them).",
        },
        {
            "name": "approvals",
            "description": "Commands waiting for a second person: large adjustments, denial write-offs, "
            "cross-payer matches. Approving needs `payments:approve` or `payments:admin` and someone other "
            "than the requester.",
        },
    ],
)
