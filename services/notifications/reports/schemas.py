"""Report response models."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class DeliveryReport(BaseModel):
    date_from: date
    date_to: date
    notifications: int
    by_channel: dict[str, dict[str, int]]
    by_template: dict[str, int]
    by_audience: dict[str, int]
