"""Money limits: the practice's maximum for each kind of amount that moves money (a patient
payment, an insurer payment or bank deposit, a refund, a write-off or adjustment) and the
threshold above which a write-off or adjustment waits for a second person. Kept as versions
(the newest is in force), changed by a payments admin, and checked by every path that moves
such an amount, so `payments:write` alone cannot move an unbounded sum (OWASP API6)."""
