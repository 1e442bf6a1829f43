"""Settings of the notifications service only (environment prefix NOTIFICATIONS_).

The shared `Settings` hold what every service needs; channel providers, retry policy and the
practice's public name are this service's business, so they live here.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    """Channels, retries and the practice identity that messages may name."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", env_file=None, extra="ignore")

    # Email over SMTP (the local sink from `make up` by default).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    email_from: str = "Sandbox Family Practice <billing@practice.example>"

    # SMS through an HTTP provider (the local sink's POST /sms by default).
    sms_url: str = "http://127.0.0.1:8025/sms"
    sms_username: str | None = None
    sms_password: str | None = None
    sms_sender: str = "+15550100000"
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    # Delivery worker: how many sends at once, and the retry policy.
    worker_batch_size: int = Field(default=64, ge=1)
    send_concurrency: int = Field(default=16, ge=1)
    max_attempts: int = Field(default=8, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)
    # A claimed delivery is invisible to other rounds and replicas this long, renewed every third
    # of it while its send runs: a crashed sender's work comes back within it.
    lease_seconds: float = Field(default=10.0, gt=0)

    # What messages may say about the sender: the practice, and where to sign in.
    practice_name: str = "Sandbox Family Practice"
    sign_in_url: str = "https://portal.practice.example/sign-in"


def notification_settings(app: Any) -> NotificationSettings:
    """Read once per app (tests set NOTIFICATIONS_* before they start a service)."""
    settings = getattr(app.state, "notification_settings", None)
    if settings is None:
        settings = NotificationSettings()
        app.state.notification_settings = settings
    return settings


def secret_problems(dev_mode: bool) -> list[str]:
    """ServiceDefinition.secret_problems: credentials come in pairs and travel encrypted, and
    outside development mode the channels are configured (the defaults are the local sink,
    which would swallow every message)."""
    settings = NotificationSettings()
    problems = [
        f"NOTIFICATIONS_{name}_USERNAME is set without NOTIFICATIONS_{name}_PASSWORD"
        for name, user, password in (
            ("SMTP", settings.smtp_username, settings.smtp_password),
            ("SMS", settings.sms_username, settings.sms_password),
        )
        if user and not password
    ]
    if dev_mode:
        return problems
    for field, variable in (("smtp_host", "NOTIFICATIONS_SMTP_HOST"), ("sms_url", "NOTIFICATIONS_SMS_URL")):
        if field not in settings.model_fields_set:
            problems.append(f"{variable} is not set: the default is the local development sink")
    if settings.smtp_password and not settings.smtp_start_tls:
        problems.append(
            "NOTIFICATIONS_SMTP_PASSWORD would travel unencrypted: set NOTIFICATIONS_SMTP_START_TLS=true"
        )
    if settings.sms_password and not settings.sms_url.startswith("https://"):
        problems.append(
            "NOTIFICATIONS_SMS_PASSWORD would travel unencrypted: NOTIFICATIONS_SMS_URL must be https://"
        )
    return problems
