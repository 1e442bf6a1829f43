"""Payments' copy of every submitted claim (from `claim.submitted`): the patient control
number an 835 names, the claim, account and payer it stands for, and the charges a primary
claim puts on the patient's account. A corrected or voided claim retires its original's
charges; a claim an 835 arrived before is posted when it comes."""
