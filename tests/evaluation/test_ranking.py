"""Tests for turning chunk hits into a document run."""

import numpy as np
import pytest

from app.evaluation.ranking import documents_by_best_chunk


def test_document_scored_by_best_chunk():
    hits = [("a", 0.2), ("b", 0.7), ("a", 0.9), ("c", 0.5), ("b", 0.1)]

    assert documents_by_best_chunk(hits, depth=10) == {"a": 0.9, "b": 0.7, "c": 0.5}


def test_result_in_rank_order():
    hits = [("c", 0.5), ("a", 0.9), ("b", 0.7)]

    assert list(documents_by_best_chunk(hits, depth=10)) == ["a", "b", "c"]


def test_depth_keeps_best_documents():
    hits = [("a", 0.1), ("b", 0.9), ("c", 0.5), ("b", 0.95), ("d", 0.7)]

    assert documents_by_best_chunk(hits, depth=2) == {"b": 0.95, "d": 0.7}


def test_depth_cut_ties_favour_larger_id():
    # trec_eval ranks "9" before "10" at equal score, so "9" stays.
    hits = [("10", 0.5), ("9", 0.5), ("1", 0.8)]

    assert documents_by_best_chunk(hits, depth=2) == {"1": 0.8, "9": 0.5}


def test_numpy_scores_become_floats():
    result = documents_by_best_chunk([("a", np.float32(0.5))], depth=1)

    assert type(result["a"]) is float
    assert result["a"] == 0.5


def test_no_hits_gives_empty_run():
    assert documents_by_best_chunk([], depth=5) == {}


@pytest.mark.parametrize("depth", [0, -3, 2.0, True])
def test_invalid_depth_rejected(depth):
    with pytest.raises(ValueError, match="depth"):
        documents_by_best_chunk([("a", 1.0)], depth=depth)


def test_nan_score_rejected():
    with pytest.raises(ValueError, match="'a'"):
        documents_by_best_chunk([("a", float("nan"))], depth=1)
