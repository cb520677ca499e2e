"""Document upload, listing and deletion."""

from __future__ import annotations

import logging
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Query, Response, UploadFile, status
from sqlalchemy import func, select, update

from app.api.convert import document_public, job_public
from app.api.deps import CollectionDep, RuntimeDep, SessionDep
from app.api.errors import ApiError, not_found
from app.api.schemas import DocumentPublic, DocumentsPublic, SkippedRecord, UploadAccepted
from app.db.models import Document, DocumentStatus, IngestionJob
from app.db.repository import (
    NewDocument,
    create_job_with_documents,
    document_chunk_ids,
    existing_external_ids,
)
from indexing.parsers import ParseError, UnsupportedFileTypeError, parse_file

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/collections/{collection_id}/documents", tags=["documents"])


def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(
            413,
            f"file {upload.filename!r} is larger than the {limit} byte limit "
            "(DOCENT_MAX_UPLOAD_BYTES); split it into smaller files",
            file=upload.filename,
        )
    return data


def _parse_all(uploads: list[UploadFile], limit: int) -> tuple[list[NewDocument], list[SkippedRecord]]:
    """Parse every file of an upload, or raise on the first file that cannot be used.

    Empty records inside a JSONL corpus are skipped and reported rather than
    rejected, because real BEIR corpora contain them.
    """
    documents: list[NewDocument] = []
    skipped: list[SkippedRecord] = []
    for upload in uploads:
        filename = upload.filename or ""
        if not filename:
            raise ApiError(422, "every uploaded file needs a file name with an extension, such as notes.md")
        data = _read_limited(upload, limit)
        try:
            parsed = parse_file(filename, data, skip_empty=True)
        except UnsupportedFileTypeError as error:
            raise ApiError(415, str(error), file=filename) from error
        except ParseError as error:
            context = {"file": filename}
            if error.line is not None:
                context["line"] = error.line
            raise ApiError(422, str(error), **context) from error
        documents.extend(
            NewDocument(external_id=p.external_id, filename=filename, title=p.title, text=p.content)
            for p in parsed.documents
        )
        skipped.extend(
            SkippedRecord(file=filename, line=line, reason="empty title and text")
            for line in parsed.skipped_lines
        )
    return documents, skipped


def _check_unique(session, collection_id: int, documents: list[NewDocument]) -> None:
    seen: dict[str, str] = {}
    for document in documents:
        if document.external_id in seen:
            raise ApiError(
                409,
                f"document id {document.external_id!r} appears twice in this upload "
                f"({seen[document.external_id]!r} and {document.filename!r}); ids must be unique",
                external_id=document.external_id,
            )
        seen[document.external_id] = document.filename
    existing = existing_external_ids(session, collection_id=collection_id, external_ids=list(seen))
    if existing:
        raise ApiError(
            409,
            f"document id {existing[0]!r} already exists in this collection"
            + (f", and {len(existing) - 1} more" if len(existing) > 1 else "")
            + "; delete those documents first or upload under other ids",
            external_ids=existing[:20],
        )


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=UploadAccepted)
def upload_documents(
    collection: CollectionDep,
    session: SessionDep,
    runtime: RuntimeDep,
    files: Annotated[list[UploadFile], File(description="Files: .txt, .md, .html, .pdf, or a BEIR corpus .jsonl")],
) -> UploadAccepted:
    """Store uploaded documents and queue a job that chunks, embeds and indexes them.

    The upload is all or nothing: if any file cannot be parsed, nothing from this
    request is stored and the error names the file (and line, for JSONL).
    """
    documents, skipped = _parse_all(files, runtime.settings.max_upload_bytes)
    if not documents:
        raise ApiError(422, "the upload contains no documents")
    _check_unique(session, collection.id, documents)
    job, rows = create_job_with_documents(session, collection_id=collection.id, documents=documents)
    session.commit()
    runtime.workers.submit(job.id)
    logger.info(
        "queued job %d: %d documents from %d files for collection %d",
        job.id, len(rows), len(files), collection.id,
    )
    return UploadAccepted(
        job=job_public(job), documents=[document_public(row) for row in rows], skipped=skipped
    )


@router.get("", response_model=DocumentsPublic)
def list_documents(
    collection: CollectionDep,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    status_filter: Annotated[DocumentStatus | None, Query(alias="status")] = None,
) -> DocumentsPublic:
    """List a collection's documents in upload order, a page at a time."""
    query = select(Document).where(Document.collection_id == collection.id)
    if status_filter is not None:
        query = query.where(Document.status == status_filter)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Document.id).offset(offset).limit(limit))
    return DocumentsPublic(
        data=[document_public(row) for row in rows], count=total or 0, offset=offset, limit=limit
    )


def _get_document(session, collection_id: int, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None or document.collection_id != collection_id:
        raise not_found("document", document_id)
    return document


@router.get("/{document_id}", response_model=DocumentPublic)
def read_document(collection: CollectionDep, document_id: int, session: SessionDep) -> DocumentPublic:
    """Return one document's status."""
    return document_public(_get_document(session, collection.id, document_id))


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(
    collection: CollectionDep, document_id: int, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Delete a document, its chunks and their vectors."""
    with runtime.indexes.lock(collection.id):
        document = _get_document(session, collection.id, document_id)
        chunk_ids = np.array(document_chunk_ids(session, document_id=document.id), dtype=np.int64)
        if document.status == DocumentStatus.pending and document.job_id is not None:
            # The job will never process it, so its progress total shrinks by one.
            session.execute(
                update(IngestionJob)
                .where(IngestionJob.id == document.job_id)
                .values(total_documents=IngestionJob.total_documents - 1)
            )
        session.delete(document)
        session.commit()
        if len(chunk_ids):
            runtime.indexes.remove(collection.id, collection.index_kind, chunk_ids)
            runtime.indexes.save(collection.id, collection.index_kind)
    logger.info("deleted document %d of collection %d (%d chunks)", document_id, collection.id, len(chunk_ids))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
