"""Reference data a billing office tunes as files (payers, code sets, edit tables, CARC actions,
policy), read by every other sub-domain."""
