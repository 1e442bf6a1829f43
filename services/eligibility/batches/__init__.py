"""Batches: many coverage checks at once (tomorrow's appointments), accepted at once and run
in the background by the checks worker. A batch is its checks: rows in `checks` with the
batch id, `pending` until done or failed."""
