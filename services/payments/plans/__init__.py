"""Self-pay payment plans, late balances and collections.

A plan splits an amount into installments on a schedule; patient payments on the account
pay installments in order. The cycle (run by the worker daily, or by the operations endpoint
for a chosen date) reminds before due dates, flags missed installments and statements past
due, and refers an account to collections once the practice's policy says so (N missed
installments, or D days past due, whichever first). Time is a parameter, so the whole
policy can be exercised for any date."""
