"""Institutional claims (837I, UB-04) as payments sees them: what an 835 says only of a facility's
claim (loop 2100 CLP08 facility type, CLP09 frequency, CLP11/CLP12 DRG and weight, MIA for an
inpatient stay, MOA for an outpatient visit; loop 2110 SVC01 `NU:<revenue code>` or SVC04 the
revenue code), which claim line each 835 line answers without a CPT code, and the split of the
money reports by claim type."""
