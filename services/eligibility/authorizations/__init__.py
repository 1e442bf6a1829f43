"""Authorizations: referrals and prior authorizations on file, announced, and warned about
before they lapse.

Recording one publishes `authorization.recorded` (claims uses it to attach the number); so does
every change of its visits used, whole state each time, so claims' copy stays current. Visits
are counted by hand (`POST /v1/authorizations/{id}/visits`) and from `claim.submitted`: each
line's REF*G1 number bills one visit per claim chain (a claim and its corrections) and date
of service, kept in `authorization_visits`, so a claim sent again or corrected counts once
and a void gives its visit back.
The `authorization-alerts` worker publishes `authorization.expiring` once per authorization
and threshold: when the end date is ELIGIBILITY_AUTHORIZATION_EXPIRING_DAYS away or less,
and when ELIGIBILITY_AUTHORIZATION_VISITS_THRESHOLD visits or fewer remain. "Once" is held
by the primary key of `authorization_alerts`, written in the event's transaction, so
replicas racing on the same authorization publish one event between them.
"""
