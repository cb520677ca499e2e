"""Evaluate a collection's retrieval on judged queries: rank documents, then score the run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.db.models import Collection
from app.evaluation.metrics import evaluate_run
from app.retrieval import Retriever

logger = logging.getLogger(__name__)


class NothingToEvaluateError(ValueError):
    """No judged query has both a text and a relevant document."""


@dataclass(frozen=True)
class EvaluationPlan:
    """The queries an evaluation ranks, and the judged ones it leaves out."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    skipped: list[str]


@dataclass(frozen=True)
class EvaluationReport:
    collection_id: int
    num_queries: int
    skipped_queries: list[str]
    k: list[int]
    depth: int
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]
    timings_ms: dict[str, float]


def plan_evaluation(queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]) -> EvaluationPlan:
    """Keep the judged queries that have a text and at least one judgement with grade >= 1.

    Raises:
        NothingToEvaluateError: when no query is left.
    """
    judged = {
        query_id: dict(judgements)
        for query_id, judgements in qrels.items()
        if queries.get(query_id, "").strip() and any(grade >= 1 for grade in judgements.values())
    }
    if not judged:
        raise NothingToEvaluateError(
            "no query can be evaluated: each judged query needs a text in 'queries' "
            "and at least one judgement with grade >= 1"
        )
    return EvaluationPlan(
        queries={query_id: queries[query_id] for query_id in sorted(judged)},
        qrels=judged,
        skipped=sorted(set(qrels) - set(judged)),
    )


def run_evaluation(
    retriever: Retriever,
    collection: Collection,
    plan: EvaluationPlan,
    ks: list[int],
    depth: int,
    progress: Callable[[int], None] | None = None,
) -> EvaluationReport:
    """Rank documents by their best chunk for every planned query and compute the metrics.

    `progress` receives the number of queries ranked so far.
    """
    started = time.perf_counter()
    query_ids = list(plan.queries)
    runs = retriever.rank_documents(collection, list(plan.queries.values()), depth, progress=progress)
    ranked = time.perf_counter()
    result = evaluate_run(dict(zip(query_ids, runs)), plan.qrels, ks)
    logger.info(
        "evaluated collection %d on %d queries: %s",
        collection.id, result.num_queries, {name: round(value, 4) for name, value in result.mean.items()},
    )
    return EvaluationReport(
        collection_id=collection.id,
        num_queries=result.num_queries,
        skipped_queries=plan.skipped,
        k=ks,
        depth=depth,
        mean=result.mean,
        per_query=result.per_query,
        timings_ms={
            "retrieve": round((ranked - started) * 1000, 2),
            "score": round((time.perf_counter() - ranked) * 1000, 2),
        },
    )
