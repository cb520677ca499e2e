"""JSON error bodies: every error response is {"detail": message, ...context}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client can fix, with the HTTP status and any fields that locate it."""

    def __init__(self, status_code: int, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.context = context


def not_found(kind: str, identifier: object) -> ApiError:
    return ApiError(404, f"{kind} {identifier} not found", **{f"{kind}_id": identifier})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        if error.status_code >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, error.detail)
        return JSONResponse({"detail": error.detail, **error.context}, status_code=error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("%s %s raised an unexpected error", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error: {type(error).__name__}; the server log has the details"},
            status_code=500,
        )
