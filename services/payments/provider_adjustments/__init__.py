"""Provider-level adjustments (835 PLB): each kept per remittance; tied to the claim and
account its reference (PLB03-2) names, with the claim's ledger entry when it changes what
the payer paid on that claim; and forward balances (FB) tracked across remittances until the
payer recovers them."""
