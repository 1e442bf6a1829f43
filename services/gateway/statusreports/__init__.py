"""Claim status responses (277 X212) read to `claim.status_reported`, one per claim."""
