"""Ingestion job status and progress."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.convert import job_public
from app.api.deps import SessionDep
from app.api.errors import not_found
from app.api.schemas import JobPublic
from app.db.models import IngestionJob

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobPublic)
def read_job(job_id: int, session: SessionDep) -> JobPublic:
    """Return a job's status, progress in documents, and error if it failed."""
    job = session.get(IngestionJob, job_id)
    if job is None:
        raise not_found("job", job_id)
    return job_public(job)
