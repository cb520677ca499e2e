"""Search a collection and ask questions over it."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from app.api.convert import chunk_hit, milliseconds, source_public
from app.api.deps import CollectionDep, RuntimeDep
from app.api.errors import ApiError
from app.api.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse, Usage
from app.rag.base import AskParameters, NoDocumentsError
from app.rag.naive import PromptTooLongError

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/collections/{collection_id}", tags=["query"])


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, collection: CollectionDep, runtime: RuntimeDep) -> SearchResponse:
    """Return the chunks closest to the query, best first."""
    retrieval = runtime.retriever.search(collection, body.query, body.top_k)
    return SearchResponse(
        query=body.query,
        hits=[chunk_hit(rank, chunk) for rank, chunk in enumerate(retrieval.chunks, start=1)],
        timings_ms=milliseconds({"embed": retrieval.embed_seconds, "search": retrieval.search_seconds}),
    )


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, collection: CollectionDep, runtime: RuntimeDep) -> AskResponse:
    """Answer a question from the collection's documents with the chosen RAG strategy."""
    strategy = runtime.strategies[body.strategy]
    parameters = AskParameters(
        top_k=body.top_k, max_tokens=body.max_tokens, temperature=body.temperature, seed=body.seed
    )
    try:
        answer = strategy.answer(collection, body.question, parameters)
    except PromptTooLongError as error:
        raise ApiError(422, str(error)) from error
    except NoDocumentsError as error:
        raise ApiError(409, str(error)) from error
    logger.info(
        "answered on collection %d with %s: %d prompt + %d completion tokens in %.2f s",
        collection.id, answer.strategy, answer.prompt_tokens, answer.completion_tokens,
        answer.timings.get("total", 0.0),
    )
    return AskResponse(
        answer=answer.text,
        strategy=answer.strategy,
        sources=[source_public(source) for source in answer.sources],
        usage=Usage(prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens),
        finish_reason=answer.finish_reason,
        timings_ms=milliseconds(answer.timings),
        trace=answer.trace,
    )
