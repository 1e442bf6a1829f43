"""Which of our payers an 835 is from: the partner's `payer_map` by the payer's identifiers
(N1*PR N104, REF*2U, TRN03), else the partner's `default_payer_id`, else the first of those
identifiers itself (payments holds a remittance of a payer it does not know, as it does today)."""

from __future__ import annotations

from dataclasses import dataclass

from services.gateway.partners.domain import TradingPartner
from shared.x12 import TransactionSet


@dataclass(frozen=True)
class RemittanceFacts:
    trace_number: str | None  # TRN02 of the set
    payer_ids: tuple[str, ...]  # N1*PR N104, then REF*2U, then TRN03, of the set


def facts(transaction: TransactionSet) -> RemittanceFacts:
    """A set's trace number and payer identifiers (loop 1000A): each set is one payment, from
    its own payer."""
    trace, ids, in_payer, originator = None, [], False, None
    for seg in transaction.segments:
        if seg.id == "TRN" and trace is None:
            trace, originator = seg.get(2).strip() or None, seg.get(3).strip() or None
        elif seg.id == "N1":
            in_payer = seg.get(1) == "PR"
            if in_payer and seg.get(4):
                ids.append(seg.get(4).strip())
        elif seg.id == "REF" and in_payer and seg.get(1) == "2U" and seg.get(2):
            ids.append(seg.get(2).strip())
        elif seg.id in ("LX", "CLP"):
            break
    return RemittanceFacts(trace, tuple(ids + ([originator] if originator else [])))


def payer_id(found: RemittanceFacts, partner: TradingPartner | None) -> str | None:
    """Our payer id for a set (see the module's docstring), or None when nothing names one."""
    if partner is not None:
        for identifier in found.payer_ids:
            if identifier in partner.payer_map:
                return partner.payer_map[identifier]
        if partner.default_payer_id:
            return partner.default_payer_id
    return found.payer_ids[0] if found.payer_ids else None
