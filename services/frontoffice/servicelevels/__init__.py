"""Service levels: the target per ticket category, the due time it sets, and the breach worker
that escalates a ticket still unresolved past it."""
