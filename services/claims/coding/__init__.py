"""The coding edits: diagnoses (ICD-10-CM validity, age and sex conflicts, first-listed) and
procedures (the code set, modifiers, NCCI procedure-to-procedure pairs, MUE unit limits),
checked against the code data in effect on the claim's date of service."""
