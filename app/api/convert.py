"""Conversions from database rows and domain results to API bodies."""

from __future__ import annotations

from app.api.schemas import (
    ChunkHit,
    DocumentPublic,
    EvaluateResponse,
    EvaluationJobPublic,
    EvaluationProgress,
    JobProgress,
    JobPublic,
    SourcePublic,
)
from app.db.models import Document, EvaluationJob, IngestionJob
from app.rag.base import Source
from app.retrieval import RetrievedChunk


def fraction(done: int, total: int) -> float:
    """Return done / total rounded for display; an empty job counts as complete."""
    return round(done / total, 4) if total else 1.0


def job_public(job: IngestionJob) -> JobPublic:
    total = job.total_documents
    return JobPublic(
        id=job.id,
        collection_id=job.collection_id,
        status=job.status,
        progress=JobProgress(
            done=job.processed_documents,
            total=total,
            failed=job.failed_documents,
            fraction=fraction(job.processed_documents, total),
        ),
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def document_public(document: Document) -> DocumentPublic:
    return DocumentPublic(
        id=document.id,
        collection_id=document.collection_id,
        external_id=document.external_id,
        filename=document.filename,
        title=document.title,
        status=document.status,
        chunk_count=document.chunk_count,
        error=document.error,
        job_id=document.job_id,
        created_at=document.created_at,
    )


def chunk_hit(rank: int, chunk: RetrievedChunk) -> ChunkHit:
    return ChunkHit(
        rank=rank,
        chunk_id=chunk.chunk_id,
        document_id=chunk.document_id,
        external_id=chunk.external_id,
        title=chunk.title,
        position=chunk.position,
        score=chunk.score,
        text=chunk.text,
    )


def source_public(source: Source) -> SourcePublic:
    chunk = source.chunk
    return SourcePublic(
        number=source.number,
        chunk_id=chunk.chunk_id,
        document_id=chunk.document_id,
        external_id=chunk.external_id,
        title=chunk.title,
        score=chunk.score,
        text=chunk.text,
    )


def milliseconds(seconds: dict[str, float]) -> dict[str, float]:
    return {stage: round(value * 1000, 2) for stage, value in seconds.items()}


def evaluation_job_public(job: EvaluationJob) -> EvaluationJobPublic:
    total = job.total_queries
    return EvaluationJobPublic(
        id=job.id,
        collection_id=job.collection_id,
        status=job.status,
        progress=EvaluationProgress(
            done=job.processed_queries,
            total=total,
            fraction=fraction(job.processed_queries, total),
        ),
        error=job.error,
        result=EvaluateResponse.model_validate_json(job.result) if job.result else None,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
