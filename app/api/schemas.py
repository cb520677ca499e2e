"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.db.models import DocumentStatus, JobStatus

MAX_TOP_K = 100


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Unique name of the collection.")
    index_kind: Literal["flat"] = Field("flat", description="Vector index type used for this collection.")

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must contain a non-space character")
        return value


class CollectionPublic(BaseModel):
    id: int
    name: str
    index_kind: str
    document_count: int
    chunk_count: int
    created_at: datetime


class CollectionsPublic(BaseModel):
    data: list[CollectionPublic]
    count: int


class DocumentPublic(BaseModel):
    id: int
    collection_id: int
    external_id: str
    filename: str
    title: str | None
    status: DocumentStatus
    chunk_count: int
    error: str | None
    job_id: int | None
    created_at: datetime


class DocumentsPublic(BaseModel):
    data: list[DocumentPublic]
    count: int
    offset: int
    limit: int


class JobProgress(BaseModel):
    done: int = Field(description="Documents processed so far, failed ones included.")
    total: int
    failed: int
    fraction: float = Field(description="done / total, from 0 to 1.")


class JobPublic(BaseModel):
    id: int
    collection_id: int
    status: JobStatus
    progress: JobProgress
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SkippedRecord(BaseModel):
    file: str
    line: int
    reason: str


class UploadAccepted(BaseModel):
    job: JobPublic
    documents: list[DocumentPublic]
    skipped: list[SkippedRecord] = Field(
        default_factory=list, description="JSONL records left out because their title and text are empty."
    )


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000)
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)


class ChunkHit(BaseModel):
    rank: int
    chunk_id: int
    document_id: int
    external_id: str
    title: str | None
    position: int = Field(description="Index of the chunk within its document.")
    score: float = Field(description="Cosine similarity between query and chunk.")
    text: str


class SearchResponse(BaseModel):
    query: str
    hits: list[ChunkHit]
    timings_ms: dict[str, float]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    top_k: int = Field(4, ge=1, le=20, description="Chunks retrieved and offered to the model.")
    max_tokens: int = Field(256, ge=1, le=1024, description="Maximum answer length in tokens.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 decodes greedily.")
    seed: int | None = Field(None, description="Seed for sampling when temperature > 0.")
    strategy: Literal["naive"] = "naive"


class SourcePublic(BaseModel):
    number: int = Field(description="The number this source has in the prompt, as cited in the answer.")
    chunk_id: int
    document_id: int
    external_id: str
    title: str | None
    score: float
    text: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class AskResponse(BaseModel):
    answer: str
    strategy: str
    sources: list[SourcePublic]
    usage: Usage
    finish_reason: Literal["stop", "length"]
    timings_ms: dict[str, float]
    trace: list[str]


class BeirQuery(BaseModel):
    id: str = Field(alias="_id")
    text: str


class EvaluateRequest(BaseModel):
    queries: dict[str, str] | list[BeirQuery] = Field(
        description="Query id -> text, or a list of BEIR query objects {_id, text}."
    )
    qrels: dict[str, dict[str, int]] = Field(
        description="Query id -> {external document id: graded relevance}; grade >= 1 is relevant."
    )
    k: list[int] = Field([1, 3, 5, 10], min_length=1, max_length=20, description="Cutoffs for the @k metrics.")
    depth: int = Field(100, ge=1, le=1000, description="Documents ranked per query.")

    @field_validator("k")
    @classmethod
    def _check_cutoffs(cls, value: list[int]) -> list[int]:
        bad = [k for k in value if k < 1 or k > 1000]
        if bad:
            raise ValueError(f"cutoffs must be between 1 and 1000, got {bad}")
        return sorted(set(value))

    def query_texts(self) -> dict[str, str]:
        if isinstance(self.queries, dict):
            return self.queries
        return {query.id: query.text for query in self.queries}


class EvaluateResponse(BaseModel):
    collection_id: int
    num_queries: int = Field(description="Queries that have judgements and were evaluated.")
    skipped_queries: list[str] = Field(description="Query ids left out: no text, or no relevant judgement.")
    k: list[int]
    depth: int
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]
    timings_ms: dict[str, float]


class EvaluationProgress(BaseModel):
    done: int = Field(description="Queries ranked so far.")
    total: int
    fraction: float = Field(description="done / total, from 0 to 1.")


class EvaluationJobPublic(BaseModel):
    id: int
    collection_id: int
    status: JobStatus
    progress: EvaluationProgress
    error: str | None
    result: EvaluateResponse | None = Field(description="The evaluation, once the job has succeeded.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
