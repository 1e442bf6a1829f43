"""Reading the people of a 271 (005010X279A1) from their segments, on top of `shared.x12`:
NM1 names and ids, N3/N4 addresses, DMG birth date and gender, PRV provider codes.

`coverage.x12` walks the 271 and hands these functions the segments of loops 2100C/2100D
(the subscriber, the dependent) and 2120C/2120D (benefit-related entities).
"""

from __future__ import annotations

from services.eligibility.demographics.domain import Address, Person, Provider
from shared import x12
from shared.x12 import Segment


def _text(seg: Segment, index: int) -> str | None:
    return seg.get(index).strip() or None


def person(seg: Segment) -> Person:
    """NM1*IL (2100C) or NM1*03 (2100D): last, first, middle name, suffix, and NM109."""
    return Person(
        last_name=_text(seg, 3),
        first_name=_text(seg, 4),
        middle_name=_text(seg, 5),
        name_suffix=_text(seg, 7),
        member_id=_text(seg, 9),
    )


def provider(seg: Segment) -> Provider:
    """A 2120C/2120D NM1: the entity, its name and its id (NM108/NM109)."""
    return Provider(
        entity_code=seg.get(1),
        last_name=_text(seg, 3),
        first_name=_text(seg, 4),
        id_qualifier=_text(seg, 8),
        identifier=_text(seg, 9),
    )


def n3(seg: Segment, address: Address | None) -> Address:
    """N3: the street lines (onto the address N4 may already have begun)."""
    address = address or Address()
    address.line1, address.line2 = _text(seg, 1), _text(seg, 2)
    return address


def n4(seg: Segment, address: Address | None) -> Address:
    """N4: city, state and postal code."""
    address = address or Address()
    address.city, address.state, address.postal_code = _text(seg, 1), _text(seg, 2), _text(seg, 3)
    return address


def dmg(seg: Segment, who: Person) -> None:
    """DMG: the birth date (DMG01 = D8) and gender."""
    if seg.get(1) == "D8":
        who.birth_date = x12.read_d8(seg, 2, optional=True)
    who.gender = _text(seg, 3)


def prv(seg: Segment, entity: Provider) -> None:
    """PRV: the provider code (PC primary care...) and the taxonomy when PRV02 is PXC."""
    entity.provider_code = _text(seg, 1)
    if seg.get(2) == "PXC":
        entity.taxonomy = _text(seg, 3)
