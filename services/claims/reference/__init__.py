"""Reference data a billing office tunes as files (payers, modifiers, ICD-10-CM age and sex
conflicts, edits, CARC actions, policy), read by every other sub-domain. Code sets and the
NCCI and MUE tables are loaded versions: see services.claims.codesets."""
