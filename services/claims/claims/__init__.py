"""The claim itself: created (by a person or from an encounter), read, listed, changed, corrected
and voided, with its append-only status history and the state machine it moves through."""
