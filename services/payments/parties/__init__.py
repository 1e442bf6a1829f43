"""Who an account's patient and guarantor are, as payments' own minimal copy.

From the EHR's `encounter.completed`: names, mailing address and phone of the patient and of
whoever owes the patient's share (the guarantor: the event's, else the primary coverage's
subscriber, else the patient), and nothing else (no birth date, member id or diagnosis). The
statement is addressed with it and the collections agency gets it (minimum necessary)."""
