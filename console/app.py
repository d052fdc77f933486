"""The web process: the case API (api/app.py) with the browser console on the same origin.
The console sits above the API (it runs the API's own commands and reads), so the API never
imports it; this is where the two are put together."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from api.app import create_app as create_api
from console.pages import router
from core.settings import Settings


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    app = create_api(settings, client)
    app.mount("/assets", StaticFiles(directory=Path(__file__).with_name("static")), name="assets")
    app.include_router(router)
    return app
