"""Compare the metrics with pytrec_eval (trec_eval) on a TF-IDF run over Cranfield."""

import math

import pytest

from app.evaluation.metrics import evaluate_query, evaluate_run, metric_names
from tests.evaluation.test_metrics import QRELS, RUN

pytrec_eval = pytest.importorskip("pytrec_eval")

KS = (1, 3, 5, 10, 20, 100)
TOLERANCE = 1e-9
_TREC_PREFIX = {"ndcg": "ndcg_cut", "recall": "recall", "precision": "P", "hit": "success", "map": "map_cut"}


def trec_measure(name: str) -> str:
    """Return the trec_eval measure name for one of our metric names."""
    if name == "mrr":
        return "recip_rank"
    if name == "map":
        return "map"
    metric, k = name.split("@")
    return f"{_TREC_PREFIX[metric]}_{k}"


def trec_eval(run, qrels, relevance_level=1):
    cutoffs = ",".join(str(k) for k in KS)
    measures = {"recip_rank", "map"} | {f"{m}.{cutoffs}" for m in ("ndcg_cut", "recall", "P", "success", "map_cut")}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, measures, relevance_level=relevance_level)
    return evaluator.evaluate(run)


def mismatches(result, reference):
    """List every (query, metric) where our value differs from trec_eval's, plus the means."""
    found = []
    for query_id, values in result.per_query.items():
        for name, value in values.items():
            expected = reference[query_id][trec_measure(name)]
            if abs(value - expected) > TOLERANCE:
                found.append((query_id, name, value, expected))
    for name, value in result.mean.items():
        expected = math.fsum(reference[q][trec_measure(name)] for q in reference) / len(reference)
        if abs(value - expected) > TOLERANCE:
            found.append(("mean", name, value, expected))
    return found


def rounded(run, digits):
    return {q: {d: round(s, digits) for d, s in scores.items()} for q, scores in run.items()}


def test_hand_worked_fixture_matches_trec_eval():
    result = evaluate_run(RUN, QRELS, ks=KS)

    assert mismatches(result, trec_eval(RUN, QRELS)) == []


def test_edge_cases_match_trec_eval():
    # Negative grade, no relevant doc at threshold 2, empty run entry, fewer results than k.
    qrels = {"neg": {"a": -1, "b": 2, "c": 1}, "low": {"a": 1, "b": 1}, "empty": {"a": 2}, "short": {"a": 2, "b": 3}}
    run = {"neg": {"a": 0.9, "b": 0.8, "c": 0.8}, "low": {"b": 0.5, "x": 0.7}, "empty": {}, "short": {"b": 0.1}}
    result = evaluate_run(run, qrels, ks=KS, relevance_threshold=2, skip_queries_without_relevant=False)
    reference = trec_eval(run, qrels, relevance_level=2)

    assert set(result.per_query) == set(reference) == set(qrels)
    assert result.per_query["low"]["ndcg@3"] > 0
    assert mismatches(result, reference) == []


def test_cranfield_run_matches_trec_eval(cranfield_run, cranfield_judgements):
    _, qrels = cranfield_judgements
    result = evaluate_run(cranfield_run, qrels, ks=KS)
    reference = trec_eval(cranfield_run, qrels)

    assert result.num_queries == 225
    assert set(result.per_query) == set(reference)
    assert set(result.mean) == set(metric_names(KS))
    assert mismatches(result, reference) == []


@pytest.mark.parametrize("digits", [2, 1])
def test_tied_scores_match_trec_eval(cranfield_run, cranfield_judgements, digits):
    _, qrels = cranfield_judgements
    run = rounded(cranfield_run, digits)
    result = evaluate_run(run, qrels, ks=KS)
    reference = trec_eval(run, qrels)

    assert mismatches(result, reference) == []


def test_tied_scores_change_metrics(cranfield_run, cranfield_judgements):
    # Guards the test above: ranking ties by ascending id would disagree with trec_eval.
    _, qrels = cranfield_judgements
    run = rounded(cranfield_run, 2)
    reference = trec_eval(run, qrels)
    differing = []
    for query_id, scores in run.items():
        ascending_ties = sorted(scores, key=lambda doc_id: (-scores[doc_id], doc_id))
        values = evaluate_query(ascending_ties, qrels[query_id], KS)
        if any(abs(values[name] - reference[query_id][trec_measure(name)]) > TOLERANCE for name in values):
            differing.append(query_id)

    assert len(differing) >= 10


@pytest.mark.parametrize("level", [2, 3])
def test_relevance_threshold_matches_trec_eval(cranfield_run, cranfield_judgements, level):
    # Keep queries without a relevant doc at this level, because trec_eval evaluates them.
    _, qrels = cranfield_judgements
    result = evaluate_run(
        cranfield_run, qrels, ks=KS, relevance_threshold=level, skip_queries_without_relevant=False
    )
    reference = trec_eval(cranfield_run, qrels, relevance_level=level)

    assert result.num_queries == 225
    assert mismatches(result, reference) == []


def test_threshold_skips_queries_without_relevant(cranfield_run, cranfield_judgements):
    _, qrels = cranfield_judgements
    with_relevant = {q for q, judged in qrels.items() if any(grade >= 4 for grade in judged.values())}
    result = evaluate_run(cranfield_run, qrels, ks=KS, relevance_threshold=4)

    assert 0 < len(with_relevant) < 225
    assert set(result.per_query) == with_relevant
    assert result.num_queries == len(with_relevant)


def test_partial_run_matches_trec_eval(cranfield_run, cranfield_judgements):
    # Every 5th query is missing from the run and every 7th has an empty entry.
    _, qrels = cranfield_judgements
    run = {}
    for index, (query_id, scores) in enumerate(cranfield_run.items()):
        if index % 5 == 0:
            continue
        run[query_id] = {} if index % 7 == 0 else scores
    result = evaluate_run(run, qrels, ks=KS)
    reference = trec_eval(run, qrels)

    assert set(result.per_query) == set(reference) == set(run)
    assert mismatches(result, reference) == []


def test_partial_run_counts_missing_when_asked(cranfield_run, cranfield_judgements):
    _, qrels = cranfield_judgements
    run = {q: scores for index, (q, scores) in enumerate(cranfield_run.items()) if index % 5}
    present = evaluate_run(run, qrels, ks=KS)
    everything = evaluate_run(run, qrels, ks=KS, include_missing_queries=True)

    assert everything.num_queries == 225
    assert present.num_queries == len(run) == 180
    for name, value in present.mean.items():
        assert everything.mean[name] == pytest.approx(value * 180 / 225, abs=TOLERANCE), name
