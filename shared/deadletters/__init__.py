"""Dead letters: events a consumer could never handle, parked on `<topic>.dlq`, which operators
see, replay into the original topic after a fix, or discard with a reason.

The records stay in Kafka (the dead-letter topics are their only copy); each service keeps an
index of its own consumer group's dead letters in its schema (`dead_letters`: where each record
is, why it was parked, and what an operator did with it). Every service mounts the same routes
(`/v1/ops/dead-letters`, api.py), and `python -m shared.deadletters` (`make dlq`) does the same
from a shell. docs/runbook-dead-letters.md says when to replay and when to discard.
"""
