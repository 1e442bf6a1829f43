"""One 835 transaction set as an interchange of its own: the file's ISA and GS around the
set's ST..SE as received, with GE01 and IEA01 counting one. One set is one payment (one BPR,
one TRN), so each becomes its own `remittance.received`: an event stays the size of one
payment, not of a whole mailbox file."""

from __future__ import annotations

from shared.x12 import Interchange, Segment, TransactionSet


def _text(segment: Segment, element: str) -> str:
    return element.join((segment.id, *segment.elements))


def enveloped(interchange: Interchange, transaction: TransactionSet) -> str:
    """The set re-enveloped in its own group's GS and the file's ISA; every segment of the
    set keeps its text (and its ST02), so payments reads the same set it would have read in
    the whole file (same digest, same control number)."""
    delims = interchange.delimiters
    group = transaction.group
    assert group is not None  # parse() puts every set in its group
    end = delims.segment + "\n"
    se = Segment("SE", (str(len(transaction.segments) + 2), transaction.control_number))
    segments = [interchange.isa, group.gs, transaction.st, *transaction.segments, se]
    lines = [_text(s, delims.element) for s in segments]
    lines.append(delims.element.join(("GE", "1", group.control_number)))
    lines.append(delims.element.join(("IEA", "1", interchange.control_number)))
    return end.join(lines) + end
