"""Eligibility service: Coverage checks over X12 270/271, patient estimates, referrals and prior authorizations."""
