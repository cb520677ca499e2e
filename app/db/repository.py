"""Data access helpers shared by the API and the ingestion workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Chunk, Collection, Document, DocumentStatus, IngestionJob


@dataclass(frozen=True)
class CollectionCounts:
    documents: int
    chunks: int


@dataclass(frozen=True)
class NewDocument:
    external_id: str
    filename: str
    title: str | None
    text: str


def get_collection_by_name(session: Session, *, name: str) -> Collection | None:
    return session.scalar(select(Collection).where(Collection.name == name))


def collection_counts(session: Session, *, collection_ids: Sequence[int]) -> dict[int, CollectionCounts]:
    """Return document and chunk counts for each collection, in two grouped queries."""
    documents = dict(
        session.execute(
            select(Document.collection_id, func.count())
            .where(Document.collection_id.in_(collection_ids))
            .group_by(Document.collection_id)
        ).all()
    )
    chunks = dict(
        session.execute(
            select(Chunk.collection_id, func.count())
            .where(Chunk.collection_id.in_(collection_ids))
            .group_by(Chunk.collection_id)
        ).all()
    )
    return {
        cid: CollectionCounts(documents=documents.get(cid, 0), chunks=chunks.get(cid, 0))
        for cid in collection_ids
    }


def existing_external_ids(session: Session, *, collection_id: int, external_ids: Sequence[str]) -> list[str]:
    """Return which of external_ids the collection already has."""
    found: list[str] = []
    # SQLite caps bound parameters per statement, so look them up in slices.
    for start in range(0, len(external_ids), 500):
        batch = external_ids[start : start + 500]
        found.extend(
            session.scalars(
                select(Document.external_id).where(
                    Document.collection_id == collection_id, Document.external_id.in_(batch)
                )
            )
        )
    return found


def create_job_with_documents(
    session: Session, *, collection_id: int, documents: Sequence[NewDocument]
) -> tuple[IngestionJob, list[Document]]:
    """Store an ingestion job and its pending documents in the session's transaction."""
    job = IngestionJob(collection_id=collection_id, total_documents=len(documents))
    session.add(job)
    session.flush()
    rows = [
        Document(
            collection_id=collection_id,
            job_id=job.id,
            external_id=document.external_id,
            filename=document.filename,
            title=document.title,
            text=document.text,
            status=DocumentStatus.pending,
        )
        for document in documents
    ]
    session.add_all(rows)
    session.flush()
    return job, rows


def chunks_by_id(session: Session, *, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
    """Load chunks with their documents, keyed by chunk id."""
    if not chunk_ids:
        return {}
    rows = session.scalars(select(Chunk).where(Chunk.id.in_(list(chunk_ids))))
    chunks = {chunk.id: chunk for chunk in rows}
    document_ids = {chunk.document_id for chunk in chunks.values()}
    documents = {
        document.id: document
        for document in session.scalars(select(Document).where(Document.id.in_(document_ids)))
    }
    for chunk in chunks.values():
        chunk.document = documents[chunk.document_id]
    return chunks


def collection_vectors(session: Session, *, collection_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (ids, vectors) of every stored chunk of a collection, for rebuilding its index."""
    rows = session.execute(
        select(Chunk.id, Chunk.embedding).where(Chunk.collection_id == collection_id).order_by(Chunk.id)
    ).all()
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    vectors = np.stack([np.frombuffer(row[1], dtype="<f4") for row in rows])
    return ids, vectors


def document_chunk_ids(session: Session, *, document_id: int) -> list[int]:
    return list(session.scalars(select(Chunk.id).where(Chunk.document_id == document_id)))
