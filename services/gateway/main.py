"""ASGI entry point: `uvicorn services.gateway.main:app`."""

from services.gateway.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
