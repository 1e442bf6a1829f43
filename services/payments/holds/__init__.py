"""Held transaction sets and how staff release them: a set conflicting with a remittance
posted under its payer and trace number waits for review (post it as an additional
remittance, replace the original with it, or dismiss it, each with a reason), and a set
whose payer we could not resolve waits until staff register or map the payer
(`PUT /v1/payers/{payer_id}`), which posts it in that same request."""
