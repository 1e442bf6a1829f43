"""Code sets and edit tables the operator loads from the files CMS publishes (NCCI
procedure-to-procedure and MUE practitioner edits, the HCPCS Level II annual file, the
practice's CPT list), each load a version effective from a date, and what of them is in
effect for a claim's date of service."""
