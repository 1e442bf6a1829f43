"""Payers: the outbound client that sends a 270 to a payer and brings back its 271, with each
payer's connectivity (endpoint, time budget, retries, circuit breaker, rate limit, cache TTL)
as configuration. One client per process, made in the service's lifespan."""
