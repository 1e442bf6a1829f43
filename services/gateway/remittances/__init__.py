"""Remittances: an 835 that came in through a mailbox or an upload becomes `remittance.received`."""
