"""Hand-worked checks of the ranking metrics on tiny fixtures."""

import math

import pytest

from app.evaluation.metrics import (
    EvaluationResult,
    evaluate_query,
    evaluate_run,
    metric_names,
    rank_documents,
)

# Three queries, cutoffs 1, 3 and 5.
#
# q1 ranks d3 (judged 0), d1 (3), d9 (unjudged), d4 (1), d2 (2). Relevant are d1, d4 and d2.
#   MRR = 1/2.  AP = (1/2 + 2/4 + 3/5) / 3 = 1.6 / 3.
#   DCG@3 = 3/log2(3).  IDCG@3 = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 2/log2(3) + 1/2.
#   DCG@5 = 3/log2(3) + 1/log2(5) + 2/log2(6), and IDCG@5 = IDCG@3 (only three relevant docs).
# q2 retrieves only d8 and d9, neither relevant: every metric is 0.
# q3 scores d6 (2) and d7 (1) equally. The tie goes to the larger id, so d7 ranks first.
#   DCG@1 = 1, IDCG@1 = 2.  DCG@3 = 1 + 2/log2(3), IDCG@3 = 2 + 1/log2(3).
#   Two results only, so precision@5 = 2/5.
QRELS = {
    "q1": {"d1": 3, "d2": 2, "d3": 0, "d4": 1},
    "q2": {"d5": 1},
    "q3": {"d6": 2, "d7": 1},
}
RUN = {
    "q1": {"d3": 0.9, "d1": 0.8, "d9": 0.7, "d4": 0.6, "d2": 0.5},
    "q2": {"d8": 0.5, "d9": 0.4},
    "q3": {"d6": 0.9, "d7": 0.9},
}
LOG2_3 = math.log2(3)
EXPECTED = {
    "q1": {
        "mrr": 0.5,
        "map": 1.6 / 3,
        "ndcg@1": 0.0,
        "recall@1": 0.0,
        "precision@1": 0.0,
        "hit@1": 0.0,
        "map@1": 0.0,
        "ndcg@3": (3 / LOG2_3) / (3 + 2 / LOG2_3 + 0.5),
        "recall@3": 1 / 3,
        "precision@3": 1 / 3,
        "hit@3": 1.0,
        "map@3": 0.5 / 3,
        "ndcg@5": (3 / LOG2_3 + 1 / math.log2(5) + 2 / math.log2(6)) / (3 + 2 / LOG2_3 + 0.5),
        "recall@5": 1.0,
        "precision@5": 0.6,
        "hit@5": 1.0,
        "map@5": 1.6 / 3,
    },
    "q2": {name: 0.0 for name in metric_names((1, 3, 5))},
    "q3": {
        "mrr": 1.0,
        "map": 1.0,
        "ndcg@1": 0.5,
        "recall@1": 0.5,
        "precision@1": 1.0,
        "hit@1": 1.0,
        "map@1": 0.5,
        "ndcg@3": (1 + 2 / LOG2_3) / (2 + 1 / LOG2_3),
        "recall@3": 1.0,
        "precision@3": 2 / 3,
        "hit@3": 1.0,
        "map@3": 1.0,
        "ndcg@5": (1 + 2 / LOG2_3) / (2 + 1 / LOG2_3),
        "recall@5": 1.0,
        "precision@5": 0.4,
        "hit@5": 1.0,
        "map@5": 1.0,
    },
}


def test_hand_worked_per_query_values():
    result = evaluate_run(RUN, QRELS, ks=(1, 3, 5))

    assert set(result.per_query) == {"q1", "q2", "q3"}
    for query_id, expected in EXPECTED.items():
        assert result.per_query[query_id] == pytest.approx(expected, abs=1e-12), query_id


def test_hand_worked_mean_values():
    result = evaluate_run(RUN, QRELS, ks=(1, 3, 5))

    assert result.num_queries == 3
    assert set(result.mean) == set(metric_names((1, 3, 5)))
    for name in result.mean:
        expected = sum(EXPECTED[query_id][name] for query_id in EXPECTED) / 3
        assert result.mean[name] == pytest.approx(expected, abs=1e-12), name


def test_hand_worked_ndcg_numbers():
    # The closed forms above, as decimals, guard against a shared mistake in both.
    result = evaluate_run(RUN, QRELS, ks=(3,))

    assert result.per_query["q1"]["ndcg@3"] == pytest.approx(0.3974895, abs=1e-7)
    assert result.per_query["q3"]["ndcg@3"] == pytest.approx(0.8597186, abs=1e-7)


def test_metric_names_order_and_format():
    assert metric_names((10, 1, 10)) == [
        "mrr",
        "map",
        "ndcg@1",
        "recall@1",
        "precision@1",
        "hit@1",
        "map@1",
        "ndcg@10",
        "recall@10",
        "precision@10",
        "hit@10",
        "map@10",
    ]


def test_rank_documents_breaks_ties_by_descending_id():
    scores = {"a": 1.0, "b": 1.0, "c": 1.0, "d10": 1.0, "d9": 1.0, "d2": 1.0, "z": 0.5, "top": 2.0}

    # String order, not numeric: "d9" > "d2" > "d10".
    assert rank_documents(scores) == ["top", "d9", "d2", "d10", "c", "b", "a", "z"]


def test_rank_documents_ties_match_trec_eval():
    pytrec_eval = pytest.importorskip("pytrec_eval")
    scores = {"a": 1.0, "b": 1.0, "c": 1.0, "d10": 1.0, "d9": 1.0, "d2": 1.0, "11": 1.0, "2": 1.0}
    ranking = rank_documents(scores)

    # Make each document the only relevant one in turn: trec_eval's recip_rank gives its rank.
    for doc_id in scores:
        evaluator = pytrec_eval.RelevanceEvaluator({"q": {doc_id: 1}}, {"recip_rank"})
        trec_rank = round(1 / evaluator.evaluate({"q": scores})["q"]["recip_rank"])
        assert ranking.index(doc_id) + 1 == trec_rank, doc_id


def test_tie_order_changes_metrics():
    qrels = {"q": {"a": 1}}

    assert evaluate_run({"q": {"a": 0.5, "b": 0.5}}, qrels, ks=(1,)).per_query["q"]["mrr"] == 0.5
    assert evaluate_run({"q": {"b": 0.5, "c": 0.5}}, {"q": {"c": 1}}, ks=(1,)).per_query["q"]["mrr"] == 1.0


def test_fewer_results_than_k():
    result = evaluate_run({"q": {"a": 0.9}}, {"q": {"a": 2, "b": 2}}, ks=(10,))
    values = result.per_query["q"]

    assert values["precision@10"] == pytest.approx(0.1)
    assert values["recall@10"] == pytest.approx(0.5)
    assert values["hit@10"] == 1.0
    # DCG = 2, and the ideal DCG@10 over both judged docs = 2 + 2/log2(3).
    assert values["ndcg@10"] == pytest.approx(2 / (2 + 2 / LOG2_3))
    assert values["map@10"] == pytest.approx(0.5)


def test_empty_run_entry_scores_zero_and_counts():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    result = evaluate_run({"q1": {"a": 1.0}, "q2": {}}, qrels, ks=(5,))

    assert result.num_queries == 2
    assert result.per_query["q2"] == {name: 0.0 for name in metric_names((5,))}
    assert result.mean["mrr"] == 0.5


def test_missing_query_excluded_by_default():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    result = evaluate_run({"q1": {"a": 1.0}}, qrels, ks=(5,))

    assert result.num_queries == 1
    assert "q2" not in result.per_query
    assert result.mean["ndcg@5"] == 1.0


def test_missing_query_included_when_asked():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    result = evaluate_run({"q1": {"a": 1.0}}, qrels, ks=(5,), include_missing_queries=True)

    assert result.num_queries == 2
    assert result.per_query["q2"] == {name: 0.0 for name in metric_names((5,))}
    assert result.mean["ndcg@5"] == 0.5


def test_query_without_relevant_doc_skipped():
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    result = evaluate_run({"q1": {"a": 1.0}, "q2": {"b": 1.0}}, qrels, ks=(5,))

    assert result.num_queries == 1
    assert "q2" not in result.per_query
    assert result.mean["mrr"] == 1.0


def test_query_without_relevant_doc_kept():
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}}
    result = evaluate_run(
        {"q1": {"a": 1.0}, "q2": {"b": 1.0}}, qrels, ks=(5,), skip_queries_without_relevant=False
    )

    assert result.num_queries == 2
    assert result.per_query["q2"] == {name: 0.0 for name in metric_names((5,))}
    assert result.mean["mrr"] == 0.5


def test_run_queries_without_qrels_ignored():
    result = evaluate_run({"q1": {"a": 1.0}, "other": {"a": 1.0}}, {"q1": {"a": 1}}, ks=(1,))

    assert list(result.per_query) == ["q1"]
    assert result.num_queries == 1


def test_threshold_changes_binary_metrics_only():
    # With threshold 2, only b counts for the binary metrics, but nDCG still uses both grades.
    qrels = {"q": {"a": 1, "b": 2}}
    run = {"q": {"a": 0.9, "b": 0.8}}
    default = evaluate_run(run, qrels, ks=(1,)).per_query["q"]
    strict = evaluate_run(run, qrels, ks=(1,), relevance_threshold=2).per_query["q"]

    assert default["mrr"] == 1.0
    assert strict["mrr"] == 0.5
    assert strict["recall@1"] == 0.0
    assert strict["map"] == 0.5
    assert strict["ndcg@1"] == default["ndcg@1"] == 0.5


def test_threshold_above_every_grade_skips_query():
    result = evaluate_run({"q": {"a": 1.0}}, {"q": {"a": 2}}, ks=(1,), relevance_threshold=3)

    assert result == EvaluationResult(mean={}, per_query={}, num_queries=0)


def test_negative_grade_adds_no_gain():
    values = evaluate_query(["a", "b"], {"a": -1, "b": 2}, ks=(2,))

    # DCG = 0 + 2/log2(3), and the ideal DCG = 2.
    assert values["ndcg@2"] == pytest.approx(1 / LOG2_3)
    assert values["mrr"] == 0.5


def test_mrr_looks_past_largest_cutoff():
    ranking = [f"n{i}" for i in range(20)] + ["r"]
    values = evaluate_query(ranking, {"r": 1}, ks=(10,))

    assert values["mrr"] == pytest.approx(1 / 21)
    assert values["map"] == pytest.approx(1 / 21)
    assert values["hit@10"] == 0.0
    assert values["map@10"] == 0.0


def test_no_qrels_gives_empty_result():
    assert evaluate_run({"q": {"a": 1.0}}, {}, ks=(1,)) == EvaluationResult(mean={}, per_query={}, num_queries=0)


@pytest.mark.parametrize("ks", [(), (0,), (-1,), (2.5,), (True,), ("10",)])
def test_invalid_cutoffs_rejected(ks):
    with pytest.raises(ValueError, match="ks"):
        evaluate_run(RUN, QRELS, ks=ks)


@pytest.mark.parametrize("threshold", [0, -1, 1.5, True])
def test_invalid_threshold_rejected(threshold):
    with pytest.raises(ValueError, match="relevance_threshold"):
        evaluate_run(RUN, QRELS, ks=(1,), relevance_threshold=threshold)


def test_nan_score_rejected():
    with pytest.raises(ValueError, match="'d2'.*'q1'"):
        evaluate_run({"q1": {"d1": 1.0, "d2": float("nan")}}, QRELS, ks=(1,))
