"""Patient payments and refunds: money taken exactly once per Idempotency-Key, applied to
the oldest open balance (or the item the request names), refunded, and receipted."""
