"""Compute ranking metrics of a retrieval run against graded relevance judgements.

Each metric matches the trec_eval measure named beside it, including the
order of tied scores, and the tests compare every value with pytrec_eval:

| name           | trec_eval     | per query                                              |
| -------------- | ------------- | ------------------------------------------------------ |
| `mrr`          | `recip_rank`  | 1 / rank of the first relevant document in the run     |
| `map`          | `map`         | sum of precision at each relevant rank / relevant docs |
| `map@k`        | `map_cut_k`   | as `map`, counting only ranks <= k                     |
| `ndcg@k`       | `ndcg_cut_k`  | DCG@k / ideal DCG@k, gain = grade, discount log2(rank + 1) |
| `recall@k`     | `recall_k`    | relevant docs in the top k / relevant docs             |
| `precision@k`  | `P_k`         | relevant docs in the top k / k                         |
| `hit@k`        | `success_k`   | 1 if a relevant doc is in the top k, else 0            |

A run is ``{query_id: {doc_id: score}}`` and qrels are
``{query_id: {doc_id: grade}}``. A document is relevant when its grade is at
least ``relevance_threshold``. Unjudged documents count as not relevant.
"""

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

DEFAULT_KS = (1, 3, 5, 10, 100)


@dataclass(frozen=True)
class EvaluationResult:
    """Metrics of one run: the mean over evaluated queries and each query's values.

    ``num_queries`` is the number of queries in ``per_query``, which are the
    ones averaged into ``mean``. When no query is evaluated, ``mean`` and
    ``per_query`` are empty.
    """

    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]
    num_queries: int


def metric_names(ks: Iterable[int]) -> list[str]:
    """Return the metric names that `evaluate_run` reports for cutoffs ``ks``."""
    names = ["mrr", "map"]
    for k in _checked_ks(ks):
        names += [f"ndcg@{k}", f"recall@{k}", f"precision@{k}", f"hit@{k}", f"map@{k}"]
    return names


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """Sort document ids best first, the way trec_eval orders a run.

    trec_eval sorts by score descending and breaks ties by document id in
    descending byte order, so "9" comes before "10" (checked with
    pytrec_eval-terrier 0.5.11). Python compares strings by code point, which
    gives the same order as comparing their UTF-8 bytes.
    """
    return [doc_id for doc_id, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def evaluate_query(
    ranking: Sequence[str],
    judgements: Mapping[str, int],
    ks: Iterable[int] = DEFAULT_KS,
    *,
    relevance_threshold: int = 1,
) -> dict[str, float]:
    """Compute every metric for one query from its ranked document ids.

    Documents past a cutoff k are ignored for the @k metrics, and a ranking
    shorter than k is scored as if padded with non-relevant documents (so
    precision@k still divides by k). When the query has no relevant document,
    the binary metrics are 0, and nDCG still counts positive grades below the
    threshold, as trec_eval does.

    Args:
        ranking: document ids, best first, without repeats.
        judgements: ``{doc_id: grade}`` for this query.
        ks: cutoffs for the @k metrics.
        relevance_threshold: minimum grade of a relevant document for the
            binary metrics (all but nDCG).
    """
    ks = _checked_ks(ks)
    _check_threshold(relevance_threshold)
    relevant_flags = [judgements.get(doc_id, 0) >= relevance_threshold for doc_id in ranking]
    num_relevant = sum(1 for grade in judgements.values() if grade >= relevance_threshold)

    # precision_sums[i]: sum of precision at the relevant ranks among the first i documents.
    precision_sums = [0.0]
    hits = [0]
    for rank, is_relevant in enumerate(relevant_flags, start=1):
        hits.append(hits[-1] + is_relevant)
        precision_sums.append(precision_sums[-1] + (hits[-1] / rank if is_relevant else 0.0))

    first_hit = next((rank for rank, flag in enumerate(relevant_flags, start=1) if flag), None)
    metrics = {
        "mrr": 1.0 / first_hit if first_hit is not None else 0.0,
        "map": precision_sums[-1] / num_relevant if num_relevant else 0.0,
    }
    for k in ks:
        depth = min(k, len(ranking))
        metrics[f"ndcg@{k}"] = _ndcg_at(ranking, judgements, k)
        metrics[f"recall@{k}"] = hits[depth] / num_relevant if num_relevant else 0.0
        metrics[f"precision@{k}"] = hits[depth] / k
        metrics[f"hit@{k}"] = 1.0 if hits[depth] else 0.0
        metrics[f"map@{k}"] = precision_sums[depth] / num_relevant if num_relevant else 0.0
    return metrics


def evaluate_run(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    ks: Iterable[int] = DEFAULT_KS,
    *,
    relevance_threshold: int = 1,
    include_missing_queries: bool = False,
    skip_queries_without_relevant: bool = True,
) -> EvaluationResult:
    """Evaluate a run against qrels, per query and as the mean over queries.

    Which queries are evaluated:

    - Queries in the run but not in the qrels are ignored, as in trec_eval.
    - A judged query whose run entry is an empty dict scores 0 on every
      metric and is included in the mean, as in pytrec_eval.
    - A judged query absent from the run scores 0 on every metric. It is left
      out of ``per_query`` and the mean by default, which is what pytrec_eval
      does. Pass ``include_missing_queries=True`` to count it as 0 in the mean.
    - A judged query without any relevant document (every grade below
      ``relevance_threshold``) is skipped by default, because recall and nDCG
      are undefined for it. NOTE: trec_eval instead evaluates such a query, with
      binary metrics of 0 and nDCG from its positive grades. Pass
      ``skip_queries_without_relevant=False`` to get trec_eval's values.

    Args:
        run: ``{query_id: {doc_id: score}}``; higher scores rank first.
        qrels: ``{query_id: {doc_id: grade}}``.
        ks: cutoffs for the @k metrics, each a positive integer.
        relevance_threshold: minimum grade of a relevant document, at least 1
            (grade 0 means judged not relevant).
        include_missing_queries: count judged queries absent from the run as 0.
        skip_queries_without_relevant: leave out queries with no relevant doc.

    Raises:
        ValueError: if a cutoff or the threshold is not a positive integer, or
            a score is NaN.
    """
    ks = _checked_ks(ks)
    _check_threshold(relevance_threshold)
    per_query: dict[str, dict[str, float]] = {}
    skipped = []
    for query_id, judgements in qrels.items():
        if skip_queries_without_relevant and not any(g >= relevance_threshold for g in judgements.values()):
            skipped.append(query_id)
            continue
        if query_id not in run and not include_missing_queries:
            continue
        scores = run.get(query_id, {})
        _check_scores(query_id, scores)
        per_query[query_id] = evaluate_query(
            rank_documents(scores), judgements, ks, relevance_threshold=relevance_threshold
        )

    if skipped:
        logger.debug("skipped %d queries without a relevant document: %s", len(skipped), skipped[:10])
    return EvaluationResult(mean=_mean(per_query), per_query=per_query, num_queries=len(per_query))


def _ndcg_at(ranking: Sequence[str], judgements: Mapping[str, int], k: int) -> float:
    """Return nDCG@k with the ideal ranking built from every positive grade.

    Like trec_eval, negative grades add no gain rather than a negative one.
    """
    gains = [max(judgements.get(doc_id, 0), 0) for doc_id in ranking[:k]]
    ideal_gains = sorted((grade for grade in judgements.values() if grade > 0), reverse=True)[:k]
    ideal = _dcg(ideal_gains)
    return _dcg(gains) / ideal if ideal > 0 else 0.0


def _dcg(gains: Iterable[int]) -> float:
    # rank r (1-based) is discounted by log2(r + 1).
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1) if gain)


def _mean(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    if not per_query:
        return {}
    names = next(iter(per_query.values())).keys()
    return {name: math.fsum(values[name] for values in per_query.values()) / len(per_query) for name in names}


def _checked_ks(ks: Iterable[int]) -> list[int]:
    """Return the cutoffs sorted and without repeats, or raise ValueError."""
    ks = list(ks)
    if not ks:
        raise ValueError("ks is empty. Pass at least one cutoff, such as (10,)")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"cutoff {k!r} in ks is not a positive integer")
    return sorted(set(ks))


def _check_threshold(relevance_threshold: int) -> None:
    if isinstance(relevance_threshold, bool) or not isinstance(relevance_threshold, int) or relevance_threshold < 1:
        raise ValueError(
            f"relevance_threshold {relevance_threshold!r} is invalid. Pass an integer of at least 1, "
            "because grade 0 means judged not relevant"
        )


def _check_scores(query_id: str, scores: Mapping[str, float]) -> None:
    for doc_id, score in scores.items():
        if math.isnan(score):
            raise ValueError(f"score of document {doc_id!r} for query {query_id!r} is NaN, so it cannot be ranked")
