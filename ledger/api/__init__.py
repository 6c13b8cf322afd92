"""The HTTP API (FastAPI, served by uvicorn through ``ledger serve``): see ``ledger.api.app``
and docs/api.md."""

from ledger.api.app import app_from_env, close_app, create_app

__all__ = ["app_from_env", "close_app", "create_app"]
