"""The X12 005010X223A2 837I (institutional claim, the electronic UB-04), on top of shared/x12.py.

One claim per interchange, like the 837P (submission/x12.py generate() wraps it and
chooses this writer by claim type); the envelope, 1000A/B, 2000A/2010AA, 2000B/2010BA/BB,
2000C/2010CA and the 2320/2330A/B other-payer loops are claims/x12.py's, shared with the 837P.
The 837I's own loops are written here, in the guide's order:

- 2300 CLM (CLM05 facility type : A : frequency, CLM06 not used), DTP*096 discharge hour,
  DTP*434 statement period, DTP*435 admission, CL1, REF*G1 prior authorization, REF*F8 the
  payer's claim number on a replacement (7) or void (8), and the HI segments in the guide's
  order: ABK, ABJ, APR, ABN, DR, ABF, BBR, BBQ, BI, BH, BE, BG.
- 2310A attending (NM1*71, PRV*AT), 2310B operating (72), 2310C other operating (ZZ),
  2310D rendering (82) when it is not the attending.
- 2320 MIA or MOA: the prior payer's inpatient or outpatient adjudication from its 835.
- 2400 LX, SV2, DTP*472 (outpatient bills), REF*6R; 2430 SVD (SVD04 the revenue code), CAS, DTP*573.

Where a rule is situational the docstring names the guide's rule it follows. PHI never leaves
this module except in the interchange itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from services.claims.claims import x12 as common
from services.claims.claims.schemas import ClaimData, LineIn, OtherCoverage, ProviderIn
from services.claims.institutional.domain import POA_REPORTED, dx_code, poa_by_code
from services.claims.settings import ClaimsSettings
from shared.events.institutional import Institutional
from shared.x12 import amount, clean, d8, seg

VERSION = "005010X223A2"
PER_HI = 12  # composites in one HI segment


def claim_segments(
    data: ClaimData, patient_control_number: str, reference_id: str, now: datetime, settings: ClaimsSettings
) -> list[list[str]]:
    """The body of one 837I transaction set (between ST and SE), loop by loop."""
    out = common.header(reference_id, now, settings)
    out += common.billing_provider(data, organization=True)  # 2000A/2010AA: NM102 2 only
    out += common.subscriber(data)  # 2000B/2010BA/2010BB
    out += common.patient(data)  # 2000C/2010CA, when the patient is not the subscriber
    out += claim(data, patient_control_number)  # 2300
    out += providers(data)  # 2310A-D
    for other in data.other_coverages:  # 2320/2330A/2330B
        out += common.other_payer(data, other, adjudication=adjudication(other), subscriber_address=True)
    for n, line in enumerate(data.lines, start=1):
        out += service_line(data, n, line)  # 2400, 2430
    return out


def _facility(data: ClaimData) -> Institutional:
    assert data.institutional is not None  # ClaimData: every institutional claim has it
    return data.institutional


def claim(data: ClaimData, patient_control_number: str) -> list[list[str]]:
    """Loop 2300: CLM, DTP, CL1, REF, then its HI segments (health_care_codes).

    CLM05 = facility type code : A (UB-04 type of bill) : frequency; CLM06 is not used in the
    837I; CLM07 A, CLM08 Y, CLM09 Y as on the 837P. DTP*096 (TM) is sent on an inpatient claim
    that says the discharge hour. DTP*435 is "required on inpatient claims" (X12 RFI 1520),
    and on home health (facility type 3: RFI 1479 counts TOB 033x as inpatient for the admission
    date); DT (CCYYMMDDHHMM) with the hour, D8 when the hour is not known. CL101 is required
    in X223A2 (A1: situational): 9 "information not available" when the claim has no admission;
    CL102 only with an admission. REF*G1 precedes REF*F8, as the guide orders 2300's REFs."""
    inst = _facility(data)
    out = [
        seg(
            "CLM",
            patient_control_number,
            amount(data.total_charge),
            None,
            None,
            f"{inst.facility_type_code}:A:{data.frequency_code}",
            None,
            "A",
            "Y",
            "Y",
        )
    ]
    if inst.inpatient and inst.discharge_hour is not None:
        out.append(seg("DTP", "096", "TM", f"{inst.discharge_hour:02d}00"))
    out.append(seg("DTP", "434", "RD8", f"{d8(inst.statement_from)}-{d8(inst.statement_to)}"))
    admission = inst.admission
    if admission is not None and (inst.inpatient or inst.facility_type_code[0] == "3"):
        if admission.hour is None:
            out.append(seg("DTP", "435", "D8", d8(admission.date)))
        else:
            out.append(seg("DTP", "435", "DT", f"{d8(admission.date)}{admission.hour:02d}00"))
    if admission is not None:
        out.append(seg("CL1", admission.type, admission.source, inst.patient_status))
    else:
        out.append(seg("CL1", "9", None, inst.patient_status))
    if data.prior_authorization_number:
        out.append(seg("REF", "G1", clean(data.prior_authorization_number, 50)))
    if data.frequency_code in ("7", "8") and data.original_payer_claim_control_number:
        out.append(seg("REF", "F8", clean(data.original_payer_claim_control_number, 50)))
    return out + health_care_codes(data, inst)


def _hi(composites: list[str]) -> list[list[str]]:
    """HI segments of up to twelve composites each (the guide repeats ABF, BBQ, BI, BH, BE, BG)."""
    return [["HI", *composites[i : i + PER_HI]] for i in range(0, len(composites), PER_HI)]


def _diagnosis(qualifier: str, code: str, poa: dict[str, str]) -> str:
    """A diagnosis composite; its present-on-admission indicator goes in the ninth component
    (HI0x-9), sent for Y/N/U/W and left empty for 1 (exempt), as CMS's POA reporting wants."""
    indicator = poa.get(dx_code(code), "")
    composite = f"{qualifier}:{dx_code(code)}"
    return composite + ":" * 7 + indicator if indicator in POA_REPORTED else composite


def _external_cause(code: str) -> bool:
    """ICD-10-CM chapter 20 (V00-Y99): external causes of morbidity, reported as HI*ABN."""
    return dx_code(code)[:1] in ("V", "W", "X", "Y")


def health_care_codes(data: ClaimData, inst: Institutional) -> list[list[str]]:
    """The 2300 HI segments in the guide's order. Principal diagnosis ABK with its POA; admitting
    diagnosis ABJ on inpatient claims (RFI 1479: not used on outpatient ones); reason for visit
    APR (up to three) on outpatient claims; external causes ABN (V00-Y99 among the other
    diagnoses, POA each); the DRG (DR) on inpatient claims; other diagnoses ABF (twelve per HI,
    POA each); ICD-10-PCS principal procedure BBR and others BBQ with their D8 dates;
    occurrence spans BI (RD8), occurrences BH (D8), value codes BE (amount in HI0x-5) and
    condition codes BG."""
    poa = poa_by_code(inst)
    principal, others = data.diagnoses[0], data.diagnoses[1:]
    out = [["HI", _diagnosis("ABK", principal, poa)]]
    if inst.inpatient and inst.admitting_diagnosis:
        out.append(["HI", f"ABJ:{dx_code(inst.admitting_diagnosis)}"])
    if not inst.inpatient and inst.reason_for_visit:
        out.append(["HI", *(f"APR:{dx_code(c)}" for c in inst.reason_for_visit)])
    external = [_diagnosis("ABN", c, poa) for c in others if _external_cause(c)]
    out += _hi(external)
    if inst.inpatient and inst.drg_code:
        out.append(["HI", f"DR:{inst.drg_code}"])
    out += _hi([_diagnosis("ABF", c, poa) for c in others if not _external_cause(c)])
    procedures = [f"{'BBQ' if i else 'BBR'}:{p.code}:D8:{d8(p.date)}" for i, p in enumerate(inst.procedures)]
    if procedures:
        out.append(["HI", procedures[0]])
        out += _hi(procedures[1:])
    out += _hi([f"BI:{s.code}:RD8:{d8(s.start)}-{d8(s.end)}" for s in inst.occurrence_spans])
    out += _hi([f"BH:{o.code}:D8:{d8(o.date)}" for o in inst.occurrence_codes])
    out += _hi([f"BE:{v.code}:::{amount(v.amount)}" for v in inst.value_codes])
    out += _hi([f"BG:{c}" for c in inst.condition_codes])
    return out


def _physician(entity: str, provider: ProviderIn | None) -> list[list[str]]:
    """NM1 of a 2310 physician: NM102 is 1 (a person) in 2310A-D."""
    return [] if provider is None else [common.provider_nm1(entity, provider, person=True)]


def providers(data: ClaimData) -> list[list[str]]:
    """2310A attending (NM1*71; PRV*AT PXC when its taxonomy is known, as payers that
    adjudicate by taxonomy need), 2310B operating physician (72: "required when a surgical
    procedure code is listed"), 2310C other operating physician (ZZ), and 2310D rendering
    (82) only when it is not the attending ("required when different from 2310A")."""
    attending = data.attending_provider
    out = _physician("71", attending)
    if attending is not None and attending.taxonomy:
        out.append(seg("PRV", "AT", "PXC", attending.taxonomy))
    out += _physician("72", data.operating_provider)
    out += _physician("ZZ", data.other_operating_provider)
    rendering = data.rendering_provider
    if rendering is not None and (attending is None or rendering.npi != attending.npi):
        out += _physician("82", rendering)
    return out


def _number(value: Decimal | None) -> str | None:
    """An R element kept at its precision (MIA01 days, MOA01 rate), without exponent."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _money(value: Decimal | None) -> str | None:
    return None if value is None else amount(value)


def adjudication(other: OtherCoverage) -> list[list[str]]:
    """2320 MIA (inpatient: MIA01 covered days, MIA04 DRG amount, MIA05 and MIA20-23 remark
    codes, MIA08 PPS capital amount) and/or MOA (outpatient: MOA01 reimbursement rate, MOA02
    HCPCS payable amount, MOA03-07 remark codes), as the prior payer's 835 gave them: the guide
    requires each when that payer reported it."""
    out = []
    if other.inpatient is not None:
        mia = other.inpatient
        remarks = mia.remark_codes
        elements: list[str | None] = [None] * 24
        elements[0] = _number(mia.covered_days)
        elements[3] = _money(mia.drg_amount)
        elements[4] = remarks[0] if remarks else None
        elements[7] = _money(mia.capital_amount)
        for i, code in enumerate(remarks[1:5]):
            elements[19 + i] = code
        out.append(seg("MIA", *elements))
    if other.outpatient is not None:
        moa = other.outpatient
        rate, payable = _number(moa.reimbursement_rate), _money(moa.hcpcs_payable_amount)
        out.append(seg("MOA", rate, payable, *moa.remark_codes))
    return out


def _part_a_inpatient(inst: Institutional) -> bool:
    """An inpatient bill of classification 1 (11x, 21x, 41x...): its lines carry no service date."""
    return inst.inpatient and inst.facility_type_code[1] == "1"


def accommodation(revenue_code: str) -> bool:
    """Room and board revenue codes 010x-021x are billed in days (SV204 DA), the rest in units."""
    return 100 <= int(revenue_code) <= 219


def service_line(data: ClaimData, n: int, line: LineIn) -> list[list[str]]:
    """Loop 2400 line n: LX; SV2 (SV201 revenue code, SV202 HC:code:modifiers when the line has
    a HCPCS/CPT code, SV203 charge, SV204 DA for accommodation days else UN, SV205 the count);
    DTP*472 D8 on outpatient bills only (the TR3 allows the service date on outpatient claims
    only, X12 RFI 1435, which counts the Part B inpatient bills 12x/22x as outpatient for it: an
    inpatient Part A stay's dates are its statement period); REF*6R the line item control
    number the payer's 835 echoes. Then
    2430 for each prior payer that adjudicated the line: SVD (SVD03 the procedure as paid,
    SVD04 the revenue code, SVD05 units), its CAS, and DTP*573 (required in 2430)."""
    assert line.revenue_code is not None  # ClaimData: every institutional line has one
    code = common.procedure(line.code, line.modifiers) if line.code else None
    basis = "DA" if accommodation(line.revenue_code) else "UN"
    out = [
        seg("LX", str(n)),
        seg("SV2", line.revenue_code, code, amount(line.charge), basis, common.units(line.units)),
    ]
    if not _part_a_inpatient(_facility(data)):
        out.append(seg("DTP", "472", "D8", d8(line.date_of_service)))
    out.append(seg("REF", "6R", str(n)))
    for other in data.other_coverages:
        out += _line_adjudication(other, n, line, code)
    return out


def _line_adjudication(other: OtherCoverage, n: int, line: LineIn, code: str | None) -> Iterable[list[str]]:
    for adj in other.lines:
        if adj.line_number != n:
            continue
        paid_as = common.procedure(adj.code, adj.modifiers) if adj.code else code
        units = common.units(adj.units if adj.units is not None else line.units)
        yield seg("SVD", other.payer_id, amount(adj.paid), paid_as, line.revenue_code, units)
        yield from common.cas(adj.adjustments)
        yield seg("DTP", "573", "D8", d8(other.adjudication_date or line.date_of_service))
