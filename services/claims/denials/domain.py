"""The appeal letter: the claim, the denial's codes and the facts a person cites, through the
one Jinja environment (plain text, a misspelt variable is an error)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from services.claims.claims.domain import data_of
from services.claims.claims.tables import Claim
from services.claims.denials.tables import Denial
from services.claims.reference import store as reference
from shared import templates

TEMPLATES = ("claims-denials", Path(__file__).parent / "templates")


def render_letter(claim: Claim, denial: Denial, facts: list[str], signer: str) -> str:
    """The appeal letter: cites the claim, the denial's codes and the supporting facts."""
    data = data_of(claim)
    payer = reference.payers().get(claim.payer_id)
    descriptions = reference.carc().get("descriptions", {})
    templates.add_template_dir(*TEMPLATES)
    letter = templates.template(f"{TEMPLATES[0]}/appeal_letter.txt.j2").render(
        today=date.today().isoformat(),
        payer_name=payer.name if payer else claim.payer_id,
        patient_id=claim.patient_id,
        patient_control_number=claim.patient_control_number,
        payer_claim_control_number=denial.payer_claim_control_number or claim.payer_claim_control_number,
        dates_of_service=", ".join(sorted({line.date_of_service.isoformat() for line in data.lines})),
        total_charge=f"{data.total_charge:.2f}",
        denied_amount=f"{denial.denied_amount:.2f}",
        denied_on=denial.denied_at.date().isoformat(),
        adjustments=[
            {**a, "description": descriptions.get(a["reason_code"], "")} for a in denial.adjustments
        ],
        remark_codes=denial.remark_codes,
        lines=[
            {
                "code": line.code,
                "modifiers": line.modifiers,
                "units": line.units,
                "date_of_service": line.date_of_service.isoformat(),
                "charge": f"{line.charge:.2f}",
            }
            for line in data.lines
        ],
        prior_authorization_number=data.prior_authorization_number,
        facts=facts,
        signer=signer,
        provider_name=data.billing_provider.name or "Billing provider",
        provider_npi=data.billing_provider.npi,
    )
    return letter + "\n"  # the file's last newline, which the shared environment drops: letters end as before
