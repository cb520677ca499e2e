"""The FastAPI application: routers, error handlers, and the runtime's start and stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

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
        # FastAPI's own pages load Swagger UI from a CDN, which offline machines cannot reach.
        docs_url=None,
        redoc_url=None,
    )
    _serve_local_docs(app)
    install_error_handlers(app)
    for router in (
        collections.router,
        documents.router,
        jobs.router,
        query.router,
        evaluate.router,
        evaluate.jobs_router,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Report that the service is up."""
        return {"status": "ok"}

    return app


def _serve_local_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the files of the swagger-ui-bundle package."""
    app.mount("/docs/static", StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="docent API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )
