"""Patient financing: referrals of a balance to a healthcare-credit partner (`financing.referred`,
which payments records on the account) and the partner's export of the referrals."""
