"""Ticket reports: open tickets by age and category, service-level breaches, median time to
resolve."""
