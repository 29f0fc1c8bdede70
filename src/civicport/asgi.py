"""The ASGI entry point for servers that import the app by name (`civicport serve --workers N`).

Uvicorn starts each worker process by importing "civicport.asgi:app_from_env" and calling it,
so every worker builds its own app from the same environment; nothing is built at import time.
"""

from __future__ import annotations

from fastapi import FastAPI

from civicport.app import create_app
from civicport.config import load_settings


def app_from_env() -> FastAPI:
    """The portal configured from CIVICPORT_* variables and civicport.toml."""
    return create_app(load_settings())
