"""Eligibility's copy of the front office registry: each patient's demographics
(patient.updated) and ordered coverages (coverage.updated), kept at the highest revision seen,
so a coverage check can be asked with only a patient id and a date of service and its 271 can
be compared with what the registry says."""
