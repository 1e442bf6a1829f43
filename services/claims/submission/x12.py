"""The X12 005010X222A2 837P (professional claim), written on top of shared/x12.py.

One claim per interchange: the clearinghouse answers per claim, and the patient control
number (CLM01) ties each answer back. Loops written: 1000A/B submitter and receiver,
2000A/2010AA billing provider, 2000B/2010BA/BB subscriber and payer, 2000C/2010CA patient
when the patient is not the subscriber, 2300 claim (REF*F8 original number for 7/8, REF*G1
prior auth, HI diagnoses), 2310B rendering provider, 2320/2330A/2330B other payers (with each
prior payer's paid amount and claim-level CAS on a secondary or tertiary claim), 2400 lines
(REF*6R line item control number) and 2430 line adjudication (the prior payers' SVC/CAS).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from services.claims.claims.schemas import AddressIn, AdjustmentIn, ClaimData, LineIn, OtherCoverage, PersonIn
from services.claims.reference import store as reference
from services.claims.settings import ClaimsSettings
from shared.x12 import amount, build, clean, d8, seg

VERSION = "005010X222A2"
SBR_ORDER = {"primary": "P", "secondary": "S", "tertiary": "T"}


def _address(address: AddressIn | None) -> list[list[str]]:
    if address is None:
        return []
    n3 = seg("N3", clean(address.line1, 55), clean(address.line2, 55) if address.line2 else None)
    return [n3, seg("N4", clean(address.city, 30), address.state, address.postal_code)]


def _person_nm1(entity: str, person: PersonIn, id_qualifier: str | None, ident: str | None) -> list[str]:
    return seg(
        "NM1",
        entity,
        "1",
        clean(person.last_name, 60),
        clean(person.first_name, 35),
        None,
        None,
        None,
        id_qualifier,
        ident,
    )


def _cas(adjustments: list[AdjustmentIn]) -> list[list[str]]:
    """CAS segments, one per group code, up to six reason/amount pairs each."""
    by_group: dict[str, list[AdjustmentIn]] = {}
    for adj in adjustments:
        by_group.setdefault(adj.group_code, []).append(adj)
    out = []
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str] = ["CAS", group]
            for adj in items[start : start + 6]:
                elements += [adj.reason_code, amount(adj.amount), ""]
            out.append(seg(*elements))
    return out


def _payer_nm1(payer_id: str) -> list[str]:
    """The payer's name segment (2010BB, 2330B)."""
    payer = reference.payers().get(payer_id)
    name = clean(payer.name if payer else payer_id, 60)
    return seg("NM1", "PR", "2", name, None, None, None, None, "PI", payer_id)


def _filing_indicator(payer_id: str) -> str:
    payer = reference.payers().get(payer_id)
    return payer.claim_filing_indicator if payer else "CI"


def _procedure(code: str, modifiers: list[str]) -> str:
    """SV101/SVD03: HC, the code, its modifiers."""
    return ":".join(["HC", code, *modifiers])


def _units(units: Decimal) -> str:
    """Whole units without decimals (SV104, SVD05), fractional ones as an amount."""
    return str(int(units)) if units == units.to_integral() else amount(units)


def claim_segments(
    data: ClaimData, patient_control_number: str, reference_id: str, now: datetime, settings: ClaimsSettings
) -> list[list[str]]:
    """The body of one 837P transaction set (between ST and SE), loop by loop."""
    out = _header(reference_id, now, settings)
    out += _billing_provider(data)  # 2000A
    out += _subscriber(data)  # 2000B
    out += _patient(data)  # 2000C, when the patient is not the subscriber
    out += _claim(data, patient_control_number)  # 2300, 2310B
    for other in data.other_coverages:
        out += _other_payer(data, other)  # 2320/2330
    for n, line in enumerate(data.lines, start=1):
        out += _line(data, n, line)  # 2400, 2430
    return out


def _header(reference_id: str, now: datetime, settings: ClaimsSettings) -> list[list[str]]:
    """BHT, 1000A submitter and 1000B receiver."""
    s = settings
    return [
        seg("BHT", "0019", "00", reference_id, d8(now.date()), now.strftime("%H%M"), "CH"),
        seg("NM1", "41", "2", clean(s.submitter_name, 60), None, None, None, None, "46", s.submitter_id),
        seg("PER", "IC", clean(s.submitter_contact, 60), "TE", s.submitter_phone),
        seg("NM1", "40", "2", clean(s.receiver_name, 60), None, None, None, None, "46", s.receiver_id),
    ]


def _billing_provider(data: ClaimData) -> list[list[str]]:
    """2000A/2010AA billing provider."""
    bp = data.billing_provider
    out = [seg("HL", "1", None, "20", "1")]
    if bp.taxonomy:
        out.append(seg("PRV", "BI", "PXC", bp.taxonomy))
    out.append(
        seg("NM1", "85", "2", clean(bp.name or "BILLING PROVIDER", 60), None, None, None, None, "XX", bp.npi)
    )
    out += _address(bp.address)
    if bp.tax_id:
        out.append(seg("REF", "EI", bp.tax_id))
    return out


def _subscriber(data: ClaimData) -> list[list[str]]:
    """2000B/2010BA subscriber and 2010BB payer."""
    patient_is_subscriber = data.relationship_code == "18"
    sub = data.subscriber
    out = [seg("HL", "2", "1", "22", "0" if patient_is_subscriber else "1")]
    out.append(
        seg(
            "SBR",
            SBR_ORDER[data.coverage_order],
            "18" if patient_is_subscriber else None,
            clean(sub.group_number, 50) if sub and sub.group_number else None,
            None,
            None,
            None,
            None,
            None,
            _filing_indicator(data.payer_id),
        )
    )
    if sub is not None:
        out.append(_person_nm1("IL", sub, "MI", sub.member_id))
        out += _address(sub.address)
        if patient_is_subscriber:
            out.append(seg("DMG", "D8", d8(sub.birth_date), sub.gender))
    out.append(_payer_nm1(data.payer_id))
    return out


def _patient(data: ClaimData) -> list[list[str]]:
    """2000C/2010CA patient, when the patient is not the subscriber."""
    if data.relationship_code == "18" or data.patient is None:
        return []
    sub = data.subscriber
    out = [seg("HL", "3", "2", "23", "0"), seg("PAT", data.relationship_code)]
    out.append(_person_nm1("QC", data.patient, None, None))
    # The guide requires the patient's address here; a dependent usually lives with the subscriber.
    out += _address(data.patient.address or (sub.address if sub else None))
    out.append(seg("DMG", "D8", d8(data.patient.birth_date), data.patient.gender))
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
        name = clean(rp.name or "RENDERING", 60)
        out.append(
            seg("NM1", "82", "1", name, clean(rp.first_name, 35) or None, None, None, None, "XX", rp.npi)
        )
        if rp.taxonomy:
            out.append(seg("PRV", "PE", "PXC", rp.taxonomy))
    return out


def _line(data: ClaimData, n: int, line: LineIn) -> list[list[str]]:
    """2400 service line n (REF*G1 when its authorization differs from the claim's; REF*6R its
    line item control number, which the payer's 835 echoes so that its answer finds this line;
    the guide orders 2400's REFs G1 before 6R), and 2430 each prior payer's adjudication of it
    as that payer's 835 gave it: SVD paid amount, procedure and units, the line's CAS, and the
    adjudication date (DTP*573)."""
    procedure = _procedure(line.code, line.modifiers)
    pointers = ":".join(str(p) for p in line.diagnosis_pointers)
    out = [
        seg("LX", str(n)),
        seg("SV1", procedure, amount(line.charge), "UN", _units(line.units), None, None, pointers),
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
            paid_as = _procedure(adj.code, adj.modifiers) if adj.code else procedure
            units = _units(adj.units if adj.units is not None else line.units)
            out.append(seg("SVD", other.payer_id, amount(adj.paid), paid_as, None, units))
            out += _cas(adj.adjustments)
            out.append(seg("DTP", "573", "D8", d8(other.adjudication_date or line.date_of_service)))
    return out


def _other_payer(data: ClaimData, other: OtherCoverage) -> list[list[str]]:
    """Loop 2320 (other subscriber), 2330A (its subscriber) and 2330B (its payer). For a payer
    that adjudicated the claim: its claim-level CAS only (line ones are in 2430), AMT*D what
    it paid, AMT*EAF the patient's liability it stated (CLP05), and the remittance date in
    2330B only when no 2430 carries it (837P 2330B DTP*573: when 2430 is not used)."""
    out: list[list[str]] = [
        seg(
            "SBR",
            SBR_ORDER[other.order],
            other.relationship_code,
            clean(other.group_number, 50) if other.group_number else None,
            None,
            None,
            None,
            None,
            None,
            _filing_indicator(other.payer_id),
        )
    ]
    out += _cas(other.adjustments)
    if other.paid is not None:
        out.append(seg("AMT", "D", amount(other.paid)))
        if other.patient_responsibility is not None:
            out.append(seg("AMT", "EAF", amount(max(other.patient_responsibility, Decimal(0)))))
    out.append(seg("OI", None, None, "Y", None, None, "Y"))
    person = other.subscriber or data.subscriber or data.patient
    if person is not None:
        out.append(_person_nm1("IL", person, "MI", other.member_id))
    else:
        out.append(seg("NM1", "IL", "1", "UNKNOWN", None, None, None, None, "MI", other.member_id))
    out.append(_payer_nm1(other.payer_id))
    if other.adjudication_date is not None and other.paid is not None and not other.lines:
        out.append(seg("DTP", "573", "D8", d8(other.adjudication_date)))
    if other.payer_claim_control_number:
        out.append(seg("REF", "F8", clean(other.payer_claim_control_number, 50)))
    return out


def generate(
    data: ClaimData,
    patient_control_number: str,
    *,
    control_number: int,
    settings: ClaimsSettings,
    now: datetime | None = None,
) -> str:
    """A complete interchange holding this claim's 837P."""
    now = now or datetime.now()
    body = claim_segments(data, patient_control_number, f"{control_number % 1_000_000_000}", now, settings)
    return build(
        [body],
        transaction_code="837",
        functional_id="HC",
        version=VERSION,
        sender_id=settings.submitter_id,
        receiver_id=settings.receiver_id,
        control_number=control_number,
        now=now,
        usage=settings.usage_indicator,
    )
