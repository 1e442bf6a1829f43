"""Notifications service: receipts, statements, reminders and staff alerts by email, SMS and in-app inbox."""
