"""Billing-office measures: A/R aging per payer and the KPIs."""
