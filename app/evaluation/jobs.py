"""Background evaluation jobs: one thread runs them in order and records their progress.

Each job stores its request, so jobs left queued or running by a stopped
process run again from the start when the next process starts.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import asdict
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Collection, EvaluationJob, JobStatus
from app.evaluation.service import EvaluationPlan, run_evaluation
from app.retrieval import Retriever

logger = logging.getLogger(__name__)

# Seconds between progress writes, so a fast evaluation does not write once per query.
PROGRESS_INTERVAL = 0.5
_STOP = -1


class EvaluationWorker:
    """Runs evaluation jobs on one thread, in the order they were submitted."""

    def __init__(self, *, session_factory: sessionmaker[Session], retriever: Retriever) -> None:
        self._session_factory = session_factory
        self._retriever = retriever
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._session_factory() as session:
            unfinished = list(
                session.scalars(
                    select(EvaluationJob.id)
                    .where(EvaluationJob.status.in_([JobStatus.queued, JobStatus.running]))
                    .order_by(EvaluationJob.id)
                )
            )
        if unfinished:
            logger.info("resuming %d unfinished evaluation jobs: %s", len(unfinished), unfinished)
        for job_id in unfinished:
            self._queue.put(job_id)
        self._thread = threading.Thread(target=self._loop, name="evaluate", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def submit(self, job_id: int) -> None:
        self._queue.put(job_id)

    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id == _STOP:
                return
            try:
                self.run_job(job_id)
            except Exception as error:
                logger.exception("evaluation job %d failed", job_id)
                self._finish(job_id, JobStatus.failed, error=f"internal error: {error}")

    def run_job(self, job_id: int) -> None:
        """Run one evaluation job and store its report or its error."""
        with self._session_factory() as session:
            job = session.get(EvaluationJob, job_id)
            collection = session.get(Collection, job.collection_id) if job is not None else None
            if job is None or collection is None:
                return
            job.status = JobStatus.running
            job.started_at = datetime.now(timezone.utc)
            job.processed_queries = 0
            session.commit()
            request = json.loads(job.request)

        plan = EvaluationPlan(queries=request["queries"], qrels=request["qrels"], skipped=request["skipped"])
        report = run_evaluation(
            self._retriever, collection, plan, request["k"], request["depth"], progress=self._progress(job_id)
        )
        self._finish(job_id, JobStatus.succeeded, result=json.dumps(asdict(report)), processed=report.num_queries)

    def _progress(self, job_id: int):
        last_write = 0.0

        def record(done: int) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write < PROGRESS_INTERVAL:
                return
            last_write = now
            with self._session_factory() as session:
                session.execute(
                    update(EvaluationJob).where(EvaluationJob.id == job_id).values(processed_queries=done)
                )
                session.commit()

        return record

    def _finish(
        self,
        job_id: int,
        status: JobStatus,
        *,
        result: str | None = None,
        error: str | None = None,
        processed: int | None = None,
    ) -> None:
        with self._session_factory() as session:
            job = session.get(EvaluationJob, job_id)
            if job is None:
                return
            job.status = status
            job.result = result
            job.error = error
            if processed is not None:
                job.processed_queries = processed
            job.finished_at = datetime.now(timezone.utc)
            session.commit()
        logger.info("evaluation job %d %s", job_id, status.value)
