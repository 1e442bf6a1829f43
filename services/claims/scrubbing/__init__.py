"""The scrubber: named edits a claim must pass before it is sent, and the copies of eligibility
checks they read (authorizations: the authorizations sub-domain)."""
