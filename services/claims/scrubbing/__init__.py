"""The scrubber: named edits a claim must pass before it is sent, and the copies of eligibility
and authorization events they read."""
