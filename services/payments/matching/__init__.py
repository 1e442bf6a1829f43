"""Matching a parked remittance claim by hand: to a claim of the remittance's payer, with the
amounts side by side; another payer's claim only with an override a second person approves."""
