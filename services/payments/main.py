"""ASGI entry point: `uvicorn services.payments.main:app`."""

from services.payments.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
