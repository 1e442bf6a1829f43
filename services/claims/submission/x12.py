"""The 837 a claim is sent as: the X12 005010X222A2 837P (professional claim) written here,
and the 005010X223A2 837I (institutional claim) written by institutional/x12.py. `generate`
and `claim_segments` choose by the claim's type, so there stays one submit path.

One claim per interchange: the clearinghouse answers per claim, and the patient control
number (CLM01) ties each answer back. The parties and other payers both forms share are in
claims/x12.py. The 837P's own loops written here: 2300 claim (REF*F8 original number for 7/8,
REF*G1 prior auth, HI diagnoses), 2310B rendering provider, 2400 lines (REF*6R line item
control number) and 2430 line adjudication (the prior payers' SVD/CAS).
"""

from __future__ import annotations

from datetime import datetime

from services.claims.claims import x12 as common
from services.claims.claims.schemas import ClaimData, LineIn
from services.claims.institutional import x12 as institutional
from services.claims.settings import ClaimsSettings
from shared.x12 import amount, clean, d8, seg

VERSION = "005010X222A2"
VERSIONS = {"professional": VERSION, "institutional": institutional.VERSION}
SBR_ORDER = common.SBR_ORDER


def claim_segments(
    data: ClaimData, patient_control_number: str, reference_id: str, now: datetime, settings: ClaimsSettings
) -> list[list[str]]:
    """The body of one 837 transaction set (between ST and SE) for the claim's type."""
    if data.claim_type == "institutional":
        return institutional.claim_segments(data, patient_control_number, reference_id, now, settings)
    out = common.header(reference_id, now, settings)
    out += common.billing_provider(data)  # 2000A
    out += common.subscriber(data)  # 2000B
    out += common.patient(data)  # 2000C, when the patient is not the subscriber
    out += _claim(data, patient_control_number)  # 2300, 2310B
    for other in data.other_coverages:
        out += common.other_payer(data, other)  # 2320/2330
    for n, line in enumerate(data.lines, start=1):
        out += _line(data, n, line)  # 2400, 2430
    return out


def _claim(data: ClaimData, patient_control_number: str) -> list[list[str]]:
    """2300 claim (CLM, REF*F8 original number for 7/8, REF*G1 prior auth, HI diagnoses) and
    2310B rendering provider when it is not the billing provider."""
    out = [
        seg(
            "CLM",
            patient_control_number,
            amount(data.total_charge),
            None,
            None,
            f"{data.place_of_service}:B:{data.frequency_code}",
            "Y",
            "A",
            "Y",
            "Y",
        )
    ]
    if data.frequency_code in ("7", "8") and data.original_payer_claim_control_number:
        out.append(seg("REF", "F8", clean(data.original_payer_claim_control_number, 50)))
    if data.prior_authorization_number:
        out.append(seg("REF", "G1", clean(data.prior_authorization_number, 50)))
    hi = ["HI"]
    for i, code in enumerate(data.diagnoses):
        hi.append(f"{'ABK' if i == 0 else 'ABF'}:{code.replace('.', '').upper()}")
    out.append(hi)
    rp = data.rendering_provider
    if rp is not None and rp.npi != data.billing_provider.npi:
        out.append(common.provider_nm1("82", rp, person=rp.entity_type != "organization"))
        if rp.taxonomy:
            out.append(seg("PRV", "PE", "PXC", rp.taxonomy))
    return out


def _line(data: ClaimData, n: int, line: LineIn) -> list[list[str]]:
    """2400 service line n (REF*G1 when its authorization differs from the claim's; REF*6R its
    line item control number, which the payer's 835 echoes so that its answer finds this line;
    the guide orders 2400's REFs G1 before 6R), and 2430 each prior payer's adjudication of it
    as that payer's 835 gave it: SVD paid amount, procedure and units, the line's CAS, and the
    adjudication date (DTP*573)."""
    assert line.code is not None  # ClaimData: every professional line has its code
    procedure = common.procedure(line.code, line.modifiers)
    pointers = ":".join(str(p) for p in line.diagnosis_pointers)
    out = [
        seg("LX", str(n)),
        seg("SV1", procedure, amount(line.charge), "UN", common.units(line.units), None, None, pointers),
        seg("DTP", "472", "D8", d8(line.date_of_service)),
    ]
    number = line.prior_authorization_number
    if number and number != data.prior_authorization_number:
        out.append(seg("REF", "G1", clean(number, 50)))  # the line's own prior authorization
    out.append(seg("REF", "6R", str(n)))
    for other in data.other_coverages:
        for adj in other.lines:
            if adj.line_number != n:
                continue
            paid_as = common.procedure(adj.code, adj.modifiers) if adj.code else procedure
            units = common.units(adj.units if adj.units is not None else line.units)
            out.append(seg("SVD", other.payer_id, amount(adj.paid), paid_as, None, units))
            out += common.cas(adj.adjustments)
            out.append(seg("DTP", "573", "D8", d8(other.adjudication_date or line.date_of_service)))
    return out


def generate(
    data: ClaimData,
    patient_control_number: str,
    *,
    control_number: int,
    settings: ClaimsSettings,
    now: datetime | None = None,
) -> str:
    """A complete interchange holding this claim's 837P or 837I (GS08/ST03 name its guide)."""
    now = now or datetime.now()
    body = claim_segments(data, patient_control_number, f"{control_number % 1_000_000_000}", now, settings)
    version = VERSIONS[data.claim_type]
    return common.interchange(
        body, version=version, control_number=control_number, settings=settings, now=now
    )
