"""Authorizations: referrals and prior authorizations on file, announced, and warned about
before they lapse.

Recording one publishes `authorization.recorded` (claims uses it to attach the number).
The `authorization-alerts` worker publishes `authorization.expiring` once per authorization
and threshold: when the end date is ELIGIBILITY_AUTHORIZATION_EXPIRING_DAYS away or less,
and when ELIGIBILITY_AUTHORIZATION_VISITS_THRESHOLD visits or fewer remain. "Once" is held
by the primary key of `authorization_alerts`, written in the event's transaction, so
replicas racing on the same authorization publish one event between them.
"""
