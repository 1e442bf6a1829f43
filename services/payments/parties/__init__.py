"""Who an account's patient and guarantor are, as payments' own minimal copy.

Two sources: the front office's registry (`patient.updated`, the highest revision kept) and,
for patients the registry has not spoken of, the EHR's `encounter.completed` (the latest
encounter's). Names, mailing address and phone of the patient and of whoever owes the
patient's share (the guarantor), and nothing else (no birth date, member id or diagnosis). The
statement is addressed with it and the collections agency gets it (minimum necessary)."""
