"""Financial assistance and financing as payments carries them out: an approved application's
discount posted once as a ledger adjustment (`financial_assistance.approved`), and a financing
referral (`financing.referred`) recorded on the account, which leaves the collections path
while it is financed (a financing hold)."""
