"""Reconciliation: the bank's deposits against the 835s (EFTs by the CORE reassociation trace
and amount, checks by check number) and against patient card settlement batches; matches by
rule or by hand with a reason; unmatched deposits and 835s aged; cash not yet applied."""
