"""Payer contracts: fee schedules (the allowed amount per code and modifier) and the
underpayments found by comparing each posted service line with them."""
