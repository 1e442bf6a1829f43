"""Claims' copy of the front office's registry: each patient's demographics and ordered
coverages as patient.updated and coverage.updated last said (the highest revision of each),
so a new claim takes the coverage in force on its date of service instead of re-typing it, and
a coverage change finds the open claims it affects (the flags sub-domain)."""
