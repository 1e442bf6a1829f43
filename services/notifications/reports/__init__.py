"""Reports: what was sent, for the billing manager. Counts only (no recipients, no text), so a
report carries no PHI; the demo (`make demo`) prints it."""
