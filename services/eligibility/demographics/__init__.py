"""Who the payer says the patient is: the subscriber's and the dependent's names, ids,
addresses, birth dates and relationship as a 271 returns them (loops 2100C/2100D), the
primary care provider (2120C/2120D NM1*P3), and how that differs from what the practice sent,
so staff can correct their records. All of it is PHI: kept sealed, shown only by the API."""
