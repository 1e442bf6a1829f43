"""The 837 loops both claim forms share, written on top of shared/x12.py.

The 837P (005010X222A2, submission/x12.py) and the 837I (005010X223A2, institutional/x12.py)
have the same envelope, header and parties: BHT, 1000A submitter and 1000B receiver,
2000A/2010AA billing provider, 2000B/2010BA/2010BB subscriber and payer, 2000C/2010CA patient,
and the same 2320/2330A/2330B other-payer loops with their CAS. They are written here once,
so a fix to a party or to coordination of benefits reaches both forms. What differs (2300
CLM05, the 837I's CL1/HI/2310A-C, the lines SV1 vs SV2, 2320 MIA/MOA) stays in each writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from services.claims.claims.schemas import (
    AddressIn,
    AdjustmentIn,
    ClaimData,
    OtherCoverage,
    PersonIn,
    ProviderIn,
)
from services.claims.reference import store as reference
from services.claims.settings import ClaimsSettings
from shared.x12 import amount, build, clean, d8, seg

SBR_ORDER = {"primary": "P", "secondary": "S", "tertiary": "T"}
Segments = list[list[str]]


def address(value: AddressIn | None) -> Segments:
    """N3/N4 of a party; nothing when its address is unknown."""
    if value is None:
        return []
    n3 = seg("N3", clean(value.line1, 55), clean(value.line2, 55) if value.line2 else None)
    return [n3, seg("N4", clean(value.city, 30), value.state, value.postal_code)]


def person_nm1(entity: str, person: PersonIn, id_qualifier: str | None, ident: str | None) -> list[str]:
    """NM1 of a person (subscriber IL, patient QC): last and first name, and its id."""
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


def provider_nm1(entity: str, provider: ProviderIn, *, person: bool) -> list[str]:
    """NM1 of a provider by NPI: a person (NM102 1, first name in NM104) or an organization
    (NM102 2, no first name). 837P billing 85 / rendering 82; 837I 85 and 2310A-D 71/72/ZZ/82."""
    first = clean(provider.first_name, 35) if person and provider.first_name else None
    return seg(
        "NM1",
        entity,
        "1" if person else "2",
        clean(provider.name, 60),
        first,
        None,
        None,
        None,
        "XX",
        provider.npi,
    )


def cas(adjustments: list[AdjustmentIn]) -> Segments:
    """CAS segments (2320 claim level, 2430 line level), one per group code, up to six
    reason/amount pairs each."""
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


def payer_nm1(payer_id: str) -> list[str]:
    """The payer's name segment (2010BB, 2330B), named as the payer registry has it."""
    payer = reference.payers().get(payer_id)
    name = clean(payer.name if payer else payer_id, 60)
    return seg("NM1", "PR", "2", name, None, None, None, None, "PI", payer_id)


def filing_indicator(payer_id: str) -> str:
    """SBR09: the payer's claim filing indicator (CI commercial when the registry lacks it)."""
    payer = reference.payers().get(payer_id)
    return payer.claim_filing_indicator if payer else "CI"


def procedure(code: str, modifiers: list[str]) -> str:
    """SV101 / SV202 / SVD03: HC, the code, its modifiers."""
    return ":".join(["HC", code, *modifiers])


def units(value: Decimal) -> str:
    """Whole units without decimals (SV104, SV205, SVD05), fractional ones as an amount."""
    return str(int(value)) if value == value.to_integral() else amount(value)


def header(reference_id: str, now: datetime, settings: ClaimsSettings) -> Segments:
    """BHT (0019 original, CH chargeable), 1000A submitter and 1000B receiver."""
    s = settings
    return [
        seg("BHT", "0019", "00", reference_id, d8(now.date()), now.strftime("%H%M"), "CH"),
        seg("NM1", "41", "2", clean(s.submitter_name, 60), None, None, None, None, "46", s.submitter_id),
        seg("PER", "IC", clean(s.submitter_contact, 60), "TE", s.submitter_phone),
        seg("NM1", "40", "2", clean(s.receiver_name, 60), None, None, None, None, "46", s.receiver_id),
    ]


def billing_provider(data: ClaimData, *, organization: bool = False) -> Segments:
    """2000A/2010AA billing provider (the scrubber holds a claim that lacks any of it).
    `organization`: the 837I's 2010AA NM102 is 2 only (a facility bills), whatever the registry says."""
    bp = data.billing_provider
    out = [seg("HL", "1", None, "20", "1")]
    if bp.taxonomy:
        out.append(seg("PRV", "BI", "PXC", bp.taxonomy))
    out.append(provider_nm1("85", bp, person=bp.entity_type == "person" and not organization))
    out += address(bp.address)
    if bp.tax_id:
        out.append(seg("REF", bp.tax_id_type or "EI", bp.tax_id))
    return out


def subscriber(data: ClaimData) -> Segments:
    """2000B/2010BA subscriber (SBR02 18 and DMG when the patient is the subscriber) and 2010BB payer."""
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
            filing_indicator(data.payer_id),
        )
    )
    if sub is not None:
        out.append(person_nm1("IL", sub, "MI", sub.member_id))
        out += address(sub.address)
        if patient_is_subscriber:
            out.append(seg("DMG", "D8", d8(sub.birth_date), sub.gender))
    out.append(payer_nm1(data.payer_id))
    return out


def patient(data: ClaimData) -> Segments:
    """2000C/2010CA patient, when the patient is not the subscriber."""
    if data.relationship_code == "18" or data.patient is None:
        return []
    sub = data.subscriber
    out = [seg("HL", "3", "2", "23", "0"), seg("PAT", data.relationship_code)]
    out.append(person_nm1("QC", data.patient, None, None))
    # The guides require the patient's address here; a dependent usually lives with the subscriber.
    out += address(data.patient.address or (sub.address if sub else None))
    out.append(seg("DMG", "D8", d8(data.patient.birth_date), data.patient.gender))
    return out


def other_payer(
    data: ClaimData,
    other: OtherCoverage,
    *,
    adjudication: Sequence[list[str]] = (),
    subscriber_address: bool = False,
) -> Segments:
    """Loop 2320 (other subscriber), 2330A (its subscriber) and 2330B (its payer). For a payer
    that adjudicated the claim: its claim-level CAS only (line ones are in 2430), AMT*D what
    it paid, AMT*EAF the patient's liability it stated (CLP05), and the remittance date in
    2330B only when no 2430 carries it (2330B DTP*573: when 2430 is not used).

    `adjudication`: the 837I's 2320 MIA or MOA, which the guide places after OI.
    `subscriber_address`: 2330A N3/N4 from that coverage's subscriber (the 837I writes it;
    the 837P keeps the output it always had)."""
    out: Segments = [
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
            filing_indicator(other.payer_id),
        )
    ]
    out += cas(other.adjustments)
    if other.paid is not None:
        out.append(seg("AMT", "D", amount(other.paid)))
        if other.patient_responsibility is not None:
            out.append(seg("AMT", "EAF", amount(max(other.patient_responsibility, Decimal(0)))))
    out.append(seg("OI", None, None, "Y", None, None, "Y"))
    out += [list(s) for s in adjudication]
    person = other.subscriber or data.subscriber or data.patient
    if person is not None:
        out.append(person_nm1("IL", person, "MI", other.member_id))
        if subscriber_address and other.subscriber is not None:
            out += address(other.subscriber.address)
    else:
        out.append(seg("NM1", "IL", "1", "UNKNOWN", None, None, None, None, "MI", other.member_id))
    out.append(payer_nm1(other.payer_id))
    if other.adjudication_date is not None and other.paid is not None and not other.lines:
        out.append(seg("DTP", "573", "D8", d8(other.adjudication_date)))
    if other.payer_claim_control_number:
        out.append(seg("REF", "F8", clean(other.payer_claim_control_number, 50)))
    return out


def interchange(
    body: Segments, *, version: str, control_number: int, settings: ClaimsSettings, now: datetime
) -> str:
    """ISA/GS/ST..SE/GE/IEA around one claim's body; `version` (GS08, ST03) names the guide."""
    return build(
        [body],
        transaction_code="837",
        functional_id="HC",
        version=version,
        sender_id=settings.submitter_id,
        receiver_id=settings.receiver_id,
        control_number=control_number,
        now=now,
        usage=settings.usage_indicator,
    )
