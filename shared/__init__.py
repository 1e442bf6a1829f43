"""Cross-cutting code every service uses the same way.

One obvious way for each mechanism: settings, database session, events and their
catalogue, transactional outbox, idempotent consumers, health, metrics, logging,
problem+json errors, authentication, audit and Idempotency-Key handling.
"""
