"""Account holds: what keeps a patient's account from statements and collections while the front
office works something out (a billing dispute, a financial-assistance application). The tickets
and applications sub-domains place and release holds; the account_hold.* events are built here
once, so both say the same thing for the same reason."""
