"""The catalogue and its previews. A preview renders the template with its sample event through
the same context builder the handlers use, so what you see is what a recipient would get (plus
the PHI scan's verdict on the email and SMS text)."""

from __future__ import annotations

from services.notifications.messages.domain import find_phi
from services.notifications.messages.usecases import UnknownTemplate, render, versions
from services.notifications.settings import NotificationSettings
from services.notifications.templates.domain import SAMPLE_EVENTS, sample_context
from services.notifications.templates.schemas import PreviewOut, TemplateOut
from shared.problems import ProblemError, invalid


def catalogue() -> list[TemplateOut]:
    """Every template, its versions and the event type its sample is."""
    return [
        TemplateOut(name=n, versions=v, latest=v[-1], sample_event_type=SAMPLE_EVENTS[n][0])
        for n, v in versions().items()
    ]


def known_template(name: str) -> str:
    """`name` when it is a template with a sample event, else 404."""
    if name not in SAMPLE_EVENTS or name not in versions():
        raise ProblemError(404, "not-found", "Not found", "No such template.")
    return name


def preview(name: str, version: int | None, settings: NotificationSettings) -> PreviewOut:
    """Template `name` (version `version`, else the latest) rendered with its sample event;
    422 naming `query.version` when there is no such version."""
    try:
        rendered = render(name, sample_context(name, settings), version)
    except UnknownTemplate as exc:
        raise invalid(("query.version", "unknown_version", "No such version.")) from exc
    return PreviewOut(
        template=name,
        version=rendered.version,
        sample_event_type=SAMPLE_EVENTS[name][0],
        subject=rendered.subject,
        email=rendered.email,
        sms=rendered.sms,
        inbox=rendered.inbox,
        phi_findings=find_phi(f"{rendered.subject}\n{rendered.email}\n{rendered.sms}"),
    )
