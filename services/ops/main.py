"""ASGI entry point: `uvicorn services.ops.main:app`."""

from services.ops.service import SERVICE
from shared.app import create_app

app = create_app(SERVICE)
