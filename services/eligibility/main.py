"""ASGI entry point: `uvicorn services.eligibility.main:app`."""

from services.eligibility.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
