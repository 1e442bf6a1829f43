"""Sample X12 for tests and curl examples: a 270 and an 837P (re-exported by testing.py)."""

from __future__ import annotations

from dataclasses import dataclass

# The clearinghouse id test sandboxes answer to, and test claims are addressed to (ISA08):
# `make up`'s sandbox answers only to SANDBOXCH, so tests and a running platform can share a
# broker without answering each other's claims.
TEST_RECEIVER_ID = "SANDBOXTEST"


@dataclass(frozen=True)
class SampleDependent:
    """The patient of a sample 270 when they are the subscriber's dependent (loop 2100D)."""

    first_name: str
    last_name: str
    birth_date: str  # CCYYMMDD
    relationship: str = "19"


def sample_270(
    member_id: str | None,
    *,
    date_of_service: str = "",
    service_types: tuple[str, ...] = ("30",),
    payer_id: str = "SBX001",
    trace_number: str = "TRACE0001",
    control_number: int = 1,
    patient_account: str = "",
    dependent: SampleDependent | None = None,
) -> str:
    """A minimal valid 005010X279A1 270 for one subscriber, or one of their dependents (loop
    2000D/2100D), for tests and curl examples. `date_of_service` is CCYYMMDD; empty means no
    DTP (the sandbox then uses today). `patient_account` goes in REF*EJ."""
    from datetime import datetime

    from shared import x12

    nm1 = x12.seg("NM1", "IL", "1", "DOE", "JANE")
    if member_id is not None:
        nm1 += ["", "", "", "MI", member_id]
    ref = [x12.seg("REF", "EJ", patient_account)] if patient_account else []
    body = [
        x12.seg("BHT", "0022", "13", f"REF{control_number}", "20260101", "1200"),
        x12.seg("HL", "1", "", "20", "1"),
        x12.seg("NM1", "PR", "2", "SANDBOX HEALTH PLAN", "", "", "", "", "PI", payer_id),
        x12.seg("HL", "2", "1", "21", "1"),
        x12.seg("NM1", "1P", "2", "SANDBOX CLINIC", "", "", "", "", "XX", "1234567893"),
    ]
    trn = x12.seg("TRN", "1", trace_number, "9SANDBOXTS")
    if dependent is None:
        body += [x12.seg("HL", "3", "2", "22", "0"), trn, nm1, *ref, x12.seg("DMG", "D8", "19800115")]
    else:
        body += [
            x12.seg("HL", "3", "2", "22", "1"),
            nm1,
            x12.seg("HL", "4", "3", "23", "0"),
            trn,
            x12.seg("NM1", "03", "1", dependent.last_name, dependent.first_name),
            *ref,
            x12.seg("DMG", "D8", dependent.birth_date),
            x12.seg("INS", "N", dependent.relationship),
        ]
    if date_of_service:
        body.append(x12.seg("DTP", "291", "D8", date_of_service))
    body.append(x12.seg("EQ", "^".join(service_types)))
    return x12.build(
        [body],
        transaction_code="270",
        functional_id="HS",
        version="005010X279A1",
        sender_id="SUBMITTER",
        receiver_id=payer_id,
        control_number=control_number,
        now=datetime(2026, 1, 1, 12, 0),
    )


@dataclass(frozen=True)
class SampleLine:
    code: str
    charge: str
    units: int = 1
    modifiers: tuple[str, ...] = ()
    prior_auth: str | None = None
    # Secondary claims: the prior payer's line adjudication (loop 2430).
    prior_paid: str | None = None
    prior_adjustments: tuple[tuple[str, str, str], ...] = ()  # (group, reason, amount)


def sample_837(
    pcn: str,
    member_id: str,
    lines: list[SampleLine],
    *,
    date_of_service: str = "20261120",
    payer_id: str = "SBX001",
    payer_name: str = "SANDBOX HEALTH PLAN",
    frequency_code: str = "1",
    original_reference: str | None = None,
    prior_auth: str | None = None,
    responsibility: str = "P",
    prior_payer_id: str | None = None,
    billing_npi: str = "1234567893",
    control_number: int = 1,
    prior_claim_paid: str | None = None,
    prior_claim_adjustments: tuple[tuple[str, str, str], ...] = (),
    receiver_id: str = TEST_RECEIVER_ID,
) -> str:
    """A minimal valid 005010X222A2 837P with one claim (for tests of the claim path).
    With `responsibility="S"` it carries the prior payer (2320 with `prior_claim_paid` and
    `prior_claim_adjustments` as AMT*D and CAS, 2330B) and 2430 line adjudication for the
    lines that have prior_paid/prior_adjustments."""
    from datetime import datetime
    from decimal import Decimal

    from shared import x12

    total = sum((Decimal(line.charge) for line in lines), Decimal(0))
    body = [
        x12.seg("BHT", "0019", "00", pcn, "20261120", "1200", "CH"),
        x12.seg("NM1", "41", "2", "SANDBOX CLINIC", "", "", "", "", "46", "SUBMITTER1"),
        x12.seg("PER", "IC", "BILLING", "TE", "5555550100"),
        x12.seg("NM1", "40", "2", payer_name, "", "", "", "", "46", payer_id),
        x12.seg("HL", "1", "", "20", "1"),
        x12.seg("NM1", "85", "2", "SANDBOX CLINIC", "", "", "", "", "XX", billing_npi),
        x12.seg("N3", "1 MAIN ST"),
        x12.seg("N4", "SPRINGFIELD", "IL", "62701"),
        x12.seg("REF", "EI", "123456789"),
        x12.seg("HL", "2", "1", "22", "0"),
        x12.seg("SBR", responsibility, "18", "", "", "", "", "", "", "CI"),
        x12.seg("NM1", "IL", "1", "DOE", "JANE", "", "", "", "MI", member_id),
        x12.seg("N3", "2 OAK ST"),
        x12.seg("N4", "SPRINGFIELD", "IL", "62701"),
        x12.seg("DMG", "D8", "19800115", "F"),
        x12.seg("NM1", "PR", "2", payer_name, "", "", "", "", "PI", payer_id),
        x12.seg("CLM", pcn, x12.amount(total), "", "", f"11:B:{frequency_code}", "Y", "A", "Y", "Y"),
    ]
    if original_reference:
        body.append(x12.seg("REF", "F8", original_reference))
    if prior_auth:
        body.append(x12.seg("REF", "G1", prior_auth))
    body.append(x12.seg("HI", "ABK:J449"))
    if responsibility != "P":
        prior_paid = sum((Decimal(line.prior_paid or "0") for line in lines), Decimal(0))
        body.append(x12.seg("SBR", "P", "18", "", "", "", "", "", "", "CI"))
        for group, reason, amount in prior_claim_adjustments:
            body.append(x12.seg("CAS", group, reason, amount))
        body += [
            x12.seg("AMT", "D", prior_claim_paid or x12.amount(prior_paid)),
            x12.seg("OI", "", "", "Y", "", "", "Y"),
            x12.seg("NM1", "IL", "1", "DOE", "JANE", "", "", "", "MI", member_id.rstrip("S")),
            x12.seg("NM1", "PR", "2", "PRIOR PAYER", "", "", "", "", "PI", prior_payer_id or "SBX001"),
        ]
        if not any(line.prior_paid is not None for line in lines):
            body.append(x12.seg("DTP", "573", "D8", date_of_service))  # 2330B: no 2430 carries it
    for n, line in enumerate(lines, start=1):
        proc = ":".join(["HC", line.code, *line.modifiers])
        body += [
            x12.seg("LX", str(n)),
            x12.seg("SV1", proc, line.charge, "UN", str(line.units), "", "", "1"),
            x12.seg("DTP", "472", "D8", date_of_service),
        ]
        if line.prior_auth:
            body.append(x12.seg("REF", "G1", line.prior_auth))
        if responsibility != "P" and line.prior_paid is not None:
            body.append(
                x12.seg("SVD", prior_payer_id or "SBX001", line.prior_paid or "0", proc, "", str(line.units))
            )
            for group, reason, amount in line.prior_adjustments:
                body.append(x12.seg("CAS", group, reason, amount))
            body.append(x12.seg("DTP", "573", "D8", date_of_service))
    return x12.build(
        [body],
        transaction_code="837",
        functional_id="HC",
        version="005010X222A2",
        sender_id="SUBMITTER1",
        receiver_id=receiver_id,
        control_number=control_number,
        now=datetime(2026, 11, 20, 12, 0),
    )
