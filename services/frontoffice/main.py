"""ASGI entry point: `uvicorn services.frontoffice.main:app`."""

from services.frontoffice.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
