"""What the 837P (005010X222A1) requires of a claim's providers, with no I/O: one set of rules,
used twice — to refuse a registry record a claim could not use (422), and as the scrubber's
`provider_data` edit, which holds a claim that lacks any of it — and a claim's provider
completed from its registry record.

- Loop 2010AA billing provider: NM1*85 with the organization's name (NM102 2), or a person's
  last and first name (NM102 1, NM104 "required when the person has a first name"); N3, a
  street address (a post office or lock box goes in the pay-to loop 2010AB, never here); N4 with
  the full nine-digit ZIP code; REF*EI (employer id) or REF*SY (a person's SSN), the tax id.
- Loop 2000A PRV*BI*PXC and loop 2310B PRV*PE*PXC: required when the payer's adjudication is
  known to be impacted by the taxonomy (data/payers.json `taxonomy_required`).
- Loop 2310B rendering provider, when it is not the billing provider: NM1*82 with a person's
  last and first name (NM102 1) or an organization's name (NM102 2).

Claims' provider fields arrive as the claim's pydantic models; the rules read them through the
small protocols below, so this module needs nothing of the claims sub-domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from services.claims.providers.schemas import ProviderRecord, Role
from services.claims.providers.tables import Provider
from services.claims.reference import store as reference
from shared.identifiers import npi_is_valid
from shared.problems import FieldError

PO_BOX = re.compile(r"\b(P\.?\s*O\.?\s*BOX|POST\s+OFFICE\s+BOX|LOCK\s*BOX)\b", re.IGNORECASE)
# What a claim's provider takes from the registry (the claim's `ProviderIn` fields but the NPI).
CLAIM_FIELDS = ("entity_type", "name", "first_name", "taxonomy", "tax_id", "tax_id_type", "address")
LOOPS: dict[Role, tuple[str, str, str]] = {  # loop, who, taxonomy segment
    "billing": ("2010AA", "billing provider", "2000A PRV*BI"),
    "rendering": ("2310B", "rendering provider", "2310B PRV*PE"),
}
Gap = tuple[str, str, str]  # (field, rule, message)


class AddressLike(Protocol):
    @property
    def line1(self) -> str: ...
    @property
    def postal_code(self) -> str: ...


class ProviderLike(Protocol):
    @property
    def npi(self) -> str: ...
    @property
    def entity_type(self) -> str | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def taxonomy(self) -> str | None: ...
    @property
    def tax_id(self) -> str | None: ...
    @property
    def tax_id_type(self) -> str | None: ...
    @property
    def address(self) -> AddressLike | None: ...


class ClaimLike(Protocol):
    @property
    def payer_id(self) -> str: ...
    @property
    def billing_provider(self) -> ProviderLike: ...
    @property
    def rendering_provider(self) -> ProviderLike | None: ...


def is_person(provider: ProviderLike, role: Role) -> bool:
    """A person (NM102 1) or an organization (2); unset, a billing provider is an organization
    and a rendering provider a person, as the 837P writer has always assumed."""
    if provider.entity_type:
        return provider.entity_type == "person"
    return role == "rendering"


def gaps(provider: ProviderLike, role: Role, *, taxonomy_required: bool = False) -> Iterator[Gap]:
    """Each thing the 837P needs of this provider in this role and does not have."""
    loop, who, prv = LOOPS[role]
    person = is_person(provider, role)
    fix = "; register it in the provider registry (/v1/providers)"
    if not provider.name:
        what = "last name" if person else "organization name"
        yield "name", "missing", f"837P {loop} NM103: the {who}'s {what} is missing{fix}."
    if person and not provider.first_name:
        yield "first_name", "missing", f"837P {loop} NM104: the {who} is a person; add the first name{fix}."
    if not person and provider.first_name:
        yield (
            "first_name",
            "organization_has_no_first_name",
            f"837P {loop} NM104: an organization has no first name.",
        )
    if taxonomy_required and not provider.taxonomy:
        yield "taxonomy", "missing", f"837P {prv}: this payer adjudicates by taxonomy; add the {who}'s{fix}."
    if role == "billing":
        yield from _billing_gaps(provider, person, fix)


def _billing_gaps(provider: ProviderLike, person: bool, fix: str) -> Iterator[Gap]:
    """Loop 2010AA's address and tax id."""
    address = provider.address
    if address is None:
        yield (
            "address",
            "missing",
            f"837P 2010AA N3, N4: the billing provider's street address is missing{fix}.",
        )
    else:
        if PO_BOX.search(address.line1):
            yield (
                "address.line1",
                "street_address",
                "837P 2010AA N301: the billing address must be a street address; a post office or "
                "lock box belongs in the pay-to address.",
            )
        if len(address.postal_code) != 9:
            yield (
                "address.postal_code",
                "zip_plus_4",
                "837P 2010AA N403: the billing provider's ZIP code needs all nine digits (ZIP+4).",
            )
    if not provider.tax_id:
        yield (
            "tax_id",
            "missing",
            f"837P 2010AA REF*EI/REF*SY: the billing provider's tax id is missing{fix}.",
        )
    elif provider.tax_id_type == "SY" and not person:
        yield (
            "tax_id_type",
            "ssn_is_a_person",
            "837P 2010AA REF*SY: an SSN is a person's; use EI for an organization.",
        )


def record_errors(record: ProviderRecord) -> list[FieldError]:
    """A registry record the 837P could not use in its roles: each broken rule, once."""
    errors: dict[tuple[str, str], FieldError] = {}
    if not npi_is_valid(record.npi):
        errors["npi", "npi_check_digit"] = FieldError(
            field="body.npi",
            rule="npi_check_digit",
            message="The NPI's check digit is wrong; copy it from NPPES.",
        )
    for role in dict.fromkeys(record.roles):
        for field, rule, message in gaps(record, role):  # type: ignore[arg-type]
            errors.setdefault((field, rule), FieldError(field=f"body.{field}", rule=rule, message=message))
    return list(errors.values())


def provider_data(data: ClaimLike, ctx: object) -> Iterator[tuple[str, str]]:
    """The scrubber's edit: what the claim's billing and rendering providers lack for the 837P
    (2310B is written only when the rendering provider is not the billing provider)."""
    payer = reference.payers().get(data.payer_id)
    taxonomy = bool(payer and payer.taxonomy_required)
    billing, rendering = data.billing_provider, data.rendering_provider
    for field, _, message in gaps(billing, "billing", taxonomy_required=taxonomy):
        yield f"billing_provider.{field}", message
    if rendering is not None and rendering.npi != billing.npi:
        for field, _, message in gaps(rendering, "rendering", taxonomy_required=taxonomy):
            yield f"rendering_provider.{field}", message


def claim_fields(provider: Provider) -> dict[str, Any]:
    """What a claim's provider takes from a registry row (JSON-shaped, as claim content is)."""
    return {name: getattr(provider, name) for name in CLAIM_FIELDS}


def fill(given: Mapping[str, Any], registered: Mapping[str, Any]) -> dict[str, Any]:
    """A claim's provider with each field it left unset taken from its registry record: what
    the caller said wins, field by field; the address is one field."""
    return {**given, **{k: v for k, v in registered.items() if given.get(k) is None}}
