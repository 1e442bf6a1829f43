"""Eligibility service: coverage checks over X12 270/271, estimates, referrals and prior authorizations."""
