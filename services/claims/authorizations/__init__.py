"""Prior authorizations in claims: our copies of eligibility's authorizations (from
authorization.recorded), which services need one (the payer's codes and the 271's EB11 = Y
service types), which valid authorization covers a line, and the numbers a claim is sent with
(837P loop 2300 or 2400 REF*G1)."""
