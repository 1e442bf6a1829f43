"""Recipients: the directory of patients and staff who can be told things, and their preferences.

Patients (recipient id = patient/account id) have contact channels; staff members have roles
and optional payer subscriptions. Preferences say, per category and channel, opt-in or out and
quiet hours. The categories themselves (who hears about what) are in `domain.py`.
"""
