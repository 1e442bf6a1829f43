"""Payments service: insurer and patient payments, ledgers, statements, plans and collections."""
