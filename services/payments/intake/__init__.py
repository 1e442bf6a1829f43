"""Remittance intake: every 835 that reaches us (an upload, `remittance.received`, a repair)
is kept first, then each of its ST/SE transaction sets is decided on its own: posted (by
`remittances`), a duplicate (same payer, trace number and content), a conflict held for
review (same trace, other content), held until staff name its payer, or refused with every
error found. Staff work the held sets here (resolve a conflict, map a payer, repair a file),
and every received file says where each cent of it went."""
