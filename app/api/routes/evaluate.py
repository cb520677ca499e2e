"""Retrieval evaluation against relevance judgements uploaded by the caller."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.api.convert import evaluation_job_public
from app.api.deps import CollectionDep, RuntimeDep, SessionDep
from app.api.errors import ApiError, not_found
from app.api.schemas import EvaluateRequest, EvaluateResponse, EvaluationJobPublic
from app.db.models import EvaluationJob
from app.evaluation.beir import InvalidJudgementsError, parse_qrels, parse_queries
from app.evaluation.service import (
    EvaluationPlan,
    NothingToEvaluateError,
    plan_evaluation,
    run_evaluation,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/collections/{collection_id}", tags=["evaluation"])
jobs_router = APIRouter(prefix="/v1/evaluations", tags=["evaluation"])

_MULTIPART_HELP = (
    "send JSON {queries, qrels, k, depth}, or multipart form data with files 'queries' "
    "(BEIR queries.jsonl) and 'qrels' (BEIR qrels .tsv) and optional fields 'k' (such as 1,5,10) and 'depth'"
)

_OPENAPI_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": EvaluateRequest.model_json_schema(by_alias=True)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["queries", "qrels"],
                    "properties": {
                        "queries": {"type": "string", "format": "binary", "description": "BEIR queries.jsonl"},
                        "qrels": {"type": "string", "format": "binary", "description": "BEIR qrels .tsv"},
                        "k": {"type": "string", "description": "Comma-separated cutoffs, such as 1,5,10"},
                        "depth": {"type": "integer", "description": "Documents ranked per query"},
                    },
                }
            },
        },
    }
}


async def _read_request(request: Request) -> EvaluateRequest:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        fields = await _read_multipart(request)
    elif content_type.startswith("application/json"):
        try:
            fields = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ApiError(400, f"request body is not valid JSON: {error}") from error
    else:
        raise ApiError(415, f"unsupported content type {content_type!r}; {_MULTIPART_HELP}")
    try:
        return EvaluateRequest.model_validate(fields)
    except ValidationError as error:
        raise ApiError(422, "invalid evaluation request; " + _MULTIPART_HELP, errors=_errors(error)) from error


def _errors(error: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(item["loc"]), "msg": item["msg"]} for item in error.errors()]


async def _read_multipart(request: Request) -> dict[str, Any]:
    form = await request.form()
    files = {}
    for name in ("queries", "qrels"):
        upload = form.get(name)
        if not isinstance(upload, UploadFile):
            raise ApiError(422, f"missing file field {name!r}; {_MULTIPART_HELP}")
        files[name] = (upload.filename or name, await upload.read())
    try:
        fields: dict[str, Any] = {
            "queries": parse_queries(files["queries"][1], source=files["queries"][0]),
            "qrels": parse_qrels(files["qrels"][1], source=files["qrels"][0]),
        }
    except InvalidJudgementsError as error:
        raise ApiError(422, str(error), file=error.source, line=error.line) from error
    if form.get("k"):
        fields["k"] = [part.strip() for part in str(form["k"]).split(",") if part.strip()]
    if form.get("depth"):
        fields["depth"] = form["depth"]
    return fields


def _plan(body: EvaluateRequest) -> EvaluationPlan:
    try:
        return plan_evaluation(body.query_texts(), body.qrels)
    except NothingToEvaluateError as error:
        raise ApiError(422, str(error)) from error


@router.post("/evaluate", response_model=EvaluateResponse, openapi_extra=_OPENAPI_BODY)
async def evaluate(request: Request, collection: CollectionDep, runtime: RuntimeDep) -> EvaluateResponse:
    """Rank the collection's documents for each judged query and score the ranking, within the request.

    Documents are ranked by their best chunk and matched to judgements by external id.
    For large query sets, POST .../evaluations runs the same evaluation as a job with progress.
    """
    body = await _read_request(request)
    plan = _plan(body)
    report = await run_in_threadpool(
        run_evaluation, runtime.retriever, collection, plan, body.k, body.depth
    )
    return EvaluateResponse(**asdict(report))


@router.post(
    "/evaluations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EvaluationJobPublic,
    openapi_extra=_OPENAPI_BODY,
)
async def create_evaluation(
    request: Request, collection: CollectionDep, session: SessionDep, runtime: RuntimeDep
) -> EvaluationJobPublic:
    """Queue the same evaluation as POST .../evaluate, and return a job that reports progress."""
    body = await _read_request(request)
    plan = _plan(body)
    stored = {"queries": plan.queries, "qrels": plan.qrels, "skipped": plan.skipped, "k": body.k, "depth": body.depth}
    job = EvaluationJob(collection_id=collection.id, total_queries=len(plan.queries), request=json.dumps(stored))
    session.add(job)
    session.commit()
    runtime.evaluations.submit(job.id)
    logger.info("queued evaluation job %d: %d queries on collection %d", job.id, len(plan.queries), collection.id)
    return evaluation_job_public(job)


@jobs_router.get("/{job_id}", response_model=EvaluationJobPublic)
def read_evaluation(job_id: int, session: SessionDep) -> EvaluationJobPublic:
    """Return an evaluation job's status and progress, with the evaluation once it has succeeded."""
    job = session.get(EvaluationJob, job_id)
    if job is None:
        raise not_found("evaluation", job_id)
    return evaluation_job_public(job)
