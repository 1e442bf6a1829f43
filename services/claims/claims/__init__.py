"""The claim itself: created, read, listed and changed, with its append-only status history and
the state machine it moves through."""
