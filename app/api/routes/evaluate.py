"""Retrieval evaluation against relevance judgements uploaded by the caller."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.api.convert import milliseconds
from app.api.deps import CollectionDep, RuntimeDep
from app.api.errors import ApiError
from app.api.schemas import EvaluateRequest, EvaluateResponse
from app.evaluation.beir import InvalidJudgementsError, parse_qrels, parse_queries
from app.evaluation.metrics import evaluate_run

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/collections/{collection_id}", tags=["evaluation"])

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


@router.post("/evaluate", response_model=EvaluateResponse, openapi_extra=_OPENAPI_BODY)
async def evaluate(request: Request, collection: CollectionDep, runtime: RuntimeDep) -> EvaluateResponse:
    """Rank the collection's documents for each judged query and score the ranking.

    Documents are ranked by their best chunk and matched to judgements by external id.
    """
    body = await _read_request(request)
    return await run_in_threadpool(_evaluate, body, collection, runtime)


def _evaluate(body: EvaluateRequest, collection, runtime) -> EvaluateResponse:
    started = time.perf_counter()
    queries = body.query_texts()
    judged = {
        query_id: judgements
        for query_id, judgements in body.qrels.items()
        if queries.get(query_id, "").strip() and any(grade >= 1 for grade in judgements.values())
    }
    skipped = sorted(set(body.qrels) - set(judged))
    if not judged:
        raise ApiError(
            422,
            "no query can be evaluated: each judged query needs a text in 'queries' "
            "and at least one judgement with grade >= 1",
        )
    query_ids = sorted(judged)
    runs = runtime.retriever.rank_documents(collection, [queries[q] for q in query_ids], body.depth)
    ranked = time.perf_counter()
    result = evaluate_run(dict(zip(query_ids, runs)), judged, body.k)
    logger.info(
        "evaluated collection %d on %d queries: %s",
        collection.id, result.num_queries, {name: round(value, 4) for name, value in result.mean.items()},
    )
    return EvaluateResponse(
        collection_id=collection.id,
        num_queries=result.num_queries,
        skipped_queries=skipped,
        k=body.k,
        depth=body.depth,
        mean=result.mean,
        per_query=result.per_query,
        timings_ms=milliseconds({"retrieve": ranked - started, "score": time.perf_counter() - ranked}),
    )
