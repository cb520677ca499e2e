"""The FastAPI application: routers, error handlers, and the runtime's start and stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.routes import collections, documents, evaluate, jobs, query
from app.config import Settings, get_settings
from app.runtime import Runtime


def create_app(settings: Settings | None = None, *, preload_models: bool = False) -> FastAPI:
    """Build the application; the database is migrated and workers start when it starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings)
        if preload_models:
            runtime.models.preload()
        runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title="docent",
        version="0.1.0",
        summary="Question answering over your own documents, with a local LLM.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (collections.router, documents.router, jobs.router, query.router, evaluate.router):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Report that the service is up."""
        return {"status": "ok"}

    return app
