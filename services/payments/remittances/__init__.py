"""835 remittances coming in: read and checked whole (`x12.py`), the payer resolved, stored
once per payer and trace number with the raw file and provider-level adjustments, then
handed to the posting (`postings/`). Uploads and `remittance.received` take the same path;
payers and the identifiers their 835s carry are registered here."""
