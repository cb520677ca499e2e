"""Turn chunk-level search hits into a document-level run for evaluation."""

import heapq
import math
from collections.abc import Iterable


def documents_by_best_chunk(hits: Iterable[tuple[str, float]], depth: int) -> dict[str, float]:
    """Rank documents by the score of their best chunk.

    Qrels judge documents, while the index returns chunks, so each document
    gets the maximum score among its chunks. Documents with equal best scores
    are ordered by id descending, as `app.evaluation.metrics.rank_documents`
    orders them, so the documents kept at the ``depth`` cut are the ones
    trec_eval would rank first.

    Args:
        hits: ``(document external id, chunk score)`` pairs in any order;
            higher scores are better.
        depth: maximum number of documents to keep.

    Returns:
        ``{document id: best score}`` with at most ``depth`` entries, in rank
        order (best first).

    Raises:
        ValueError: if ``depth`` is not a positive integer or a score is NaN.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth {depth!r} is not a positive integer")

    best: dict[str, float] = {}
    for doc_id, raw_score in hits:
        score = float(raw_score)  # numpy scalars become plain floats for JSON
        if math.isnan(score):
            raise ValueError(f"chunk score for document {doc_id!r} is NaN, so it cannot be ranked")
        if doc_id not in best or score > best[doc_id]:
            best[doc_id] = score

    top = heapq.nlargest(depth, best.items(), key=lambda item: (item[1], item[0]))
    return dict(top)
