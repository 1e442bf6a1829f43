"""ASGI entry point: `uvicorn services.claims.main:app`."""

from services.claims.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
