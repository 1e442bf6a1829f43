"""A local mail and SMS sink for development and tests (like MailHog).

SMTP (aiosmtpd) on 127.0.0.1:1025 keeps every message it receives; an HTTP API on
127.0.0.1:8025 lists them (GET /messages), clears them (DELETE /messages), and doubles as the
SMS provider (POST /sms, GET /sms, DELETE /sms). Nothing leaves the machine.
"""
