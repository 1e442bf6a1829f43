"""Inbound: every file received (mailbox, manual upload, real-time answer), kept as received,
identified, dispatched to the reader of its transaction; the review queue for the rest."""
