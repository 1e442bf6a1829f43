"""Deliveries: one channel's copy of a notification, sent by the worker through its channel,
retried with backoff, with every attempt kept (append-only history)."""
