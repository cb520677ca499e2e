"""Dense retrieval over a collection's index: chunks for a query, documents for evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Chunk, Collection, Document
from app.db.repository import chunks_by_id
from app.evaluation.ranking import documents_by_best_chunk
from app.models_registry import ModelRegistry
from indexing.index_store import IndexStore


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: int
    document_id: int
    external_id: str
    title: str | None
    position: int
    score: float
    text: str


@dataclass(frozen=True)
class Retrieval:
    chunks: list[RetrievedChunk]
    embed_seconds: float
    search_seconds: float


class Retriever:
    """Embeds queries and looks them up in a collection's vector index."""

    def __init__(
        self, *, session_factory: sessionmaker[Session], models: ModelRegistry, indexes: IndexStore
    ) -> None:
        self._session_factory = session_factory
        self._models = models
        self._indexes = indexes

    def search(self, collection: Collection, query: str, top_k: int) -> Retrieval:
        """Return the top_k chunks for a query, best first."""
        started = time.perf_counter()
        vector = self._models.embed([query])
        embedded = time.perf_counter()
        result = self._indexes.search(collection.id, collection.index_kind, vector, top_k)
        pairs = [(int(i), float(s)) for i, s in zip(result.ids[0], result.scores[0]) if i >= 0]
        with self._session_factory() as session:
            chunks = chunks_by_id(session, chunk_ids=[chunk_id for chunk_id, _ in pairs])
        # A chunk can vanish between search and lookup when its document is deleted.
        hits = [
            RetrievedChunk(
                chunk_id=chunk_id,
                document_id=chunks[chunk_id].document_id,
                external_id=chunks[chunk_id].document.external_id,
                title=chunks[chunk_id].document.title,
                position=chunks[chunk_id].position,
                score=score,
                text=chunks[chunk_id].text,
            )
            for chunk_id, score in pairs
            if chunk_id in chunks
        ]
        return Retrieval(hits, embedded - started, time.perf_counter() - embedded)

    def rank_documents(
        self,
        collection: Collection,
        queries: Sequence[str],
        depth: int,
        progress: Callable[[int], None] | None = None,
    ) -> list[dict[str, float]]:
        """Rank documents for each query by their best chunk, keeping the top `depth` documents.

        Returns one run entry per query: external document id -> best chunk score.
        `progress` receives the number of queries ranked so far.
        """
        vectors = self._models.embed(list(queries))
        total = self._indexes.count(collection.id, collection.index_kind)
        with self._session_factory() as session:
            owner = dict(
                session.execute(
                    select(Chunk.id, Document.external_id)
                    .join(Document, Chunk.document_id == Document.id)
                    .where(Chunk.collection_id == collection.id)
                ).all()
            )
        runs = []
        for vector in vectors:
            runs.append(self._documents_for(collection, vector[None, :], depth, total, owner))
            if progress is not None:
                progress(len(runs))
        return runs

    def _documents_for(
        self, collection: Collection, vector: np.ndarray, depth: int, total: int, owner: dict[int, str]
    ) -> dict[str, float]:
        # Several chunks may share a document, so widen the chunk search until it
        # yields `depth` distinct documents or covers the whole index.
        k = min(total, depth * 4)
        while True:
            result = self._indexes.search(collection.id, collection.index_kind, vector, max(k, 1))
            hits = (
                (owner[int(chunk_id)], float(score))
                for chunk_id, score in zip(result.ids[0], result.scores[0])
                if int(chunk_id) in owner
            )
            run = documents_by_best_chunk(hits, depth)
            if len(run) >= depth or k >= total:
                return run
            k = min(total, k * 2)
