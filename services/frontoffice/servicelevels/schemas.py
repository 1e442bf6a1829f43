"""The service levels as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.events.frontoffice import TicketCategory


class ServiceLevelOut(BaseModel):
    category: TicketCategory
    days: int = Field(description="The target, in days.")
    business_days: bool = Field(description="True: Saturdays and Sundays are not counted.")
    escalation_contact: str = Field(description="Who is told at level 1 (staff recipient id).")
    senior_escalation_contact: str = Field(description="Who is told at level 2, one target later.")
