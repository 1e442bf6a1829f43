"""ASGI entry point: `uvicorn services.notifications.main:app`."""

from services.notifications.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
