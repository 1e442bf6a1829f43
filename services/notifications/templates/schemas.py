"""The template catalogue's response models."""

from __future__ import annotations

from pydantic import BaseModel


class TemplateOut(BaseModel):
    name: str
    versions: list[int]
    latest: int
    sample_event_type: str


class PreviewOut(BaseModel):
    template: str
    version: int
    sample_event_type: str
    subject: str
    email: str
    sms: str
    inbox: str
    phi_findings: list[str]
