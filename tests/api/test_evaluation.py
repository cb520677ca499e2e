"""Evaluation through the API: within the request, and as a background job with progress."""

from __future__ import annotations

import pytest

from tests.api.conftest import wait_for_job, wait_until_done

DOCUMENTS = {
    "flutter": "Flutter is a self-excited oscillation of a wing in an airstream.",
    "stall": "A wing stalls when the angle of attack exceeds the critical angle.",
    "shock": "A shock wave forms ahead of a blunt body in supersonic flow.",
    "heat": "Aerodynamic heating raises the skin temperature of hypersonic vehicles.",
}
QUERIES = {"1": "wing oscillation in an airstream", "2": "supersonic shock ahead of a body", "3": "hot skin at high speed"}
QRELS = {"1": {"flutter": 2}, "2": {"shock": 1, "stall": 0}, "3": {"heat": 1}, "4": {"stall": 1}}


@pytest.fixture()
def judged_collection(client, collection_id) -> int:
    corpus = "\n".join(f'{{"_id": "{key}", "title": "", "text": "{text}"}}' for key, text in DOCUMENTS.items())
    response = client.post(
        f"/v1/collections/{collection_id}/documents",
        files=[("files", ("corpus.jsonl", corpus.encode(), "application/jsonl"))],
    )
    assert wait_for_job(client, response.json()["job"]["id"])["status"] == "succeeded"
    return collection_id


def wait_for_evaluation(client, job_id: int) -> dict:
    return wait_until_done(client, f"/v1/evaluations/{job_id}")


def test_evaluate_scores_each_query(client, judged_collection):
    body = {"queries": QUERIES, "qrels": QRELS, "k": [1, 3]}
    report = client.post(f"/v1/collections/{judged_collection}/evaluate", json=body).json()

    # Query 4 has no text, so only queries 1 to 3 are evaluated.
    assert report["num_queries"] == 3
    assert report["skipped_queries"] == ["4"]
    # Each query's only relevant document is the obvious match, so every query ranks it first.
    for query_id in ("1", "2", "3"):
        assert report["per_query"][query_id]["mrr"] == 1.0, query_id
        assert report["per_query"][query_id]["ndcg@1"] == 1.0, query_id
    assert report["mean"]["hit@1"] == 1.0
    assert report["mean"]["precision@3"] == pytest.approx(1 / 3)


def test_evaluation_job_matches_direct_evaluation(client, judged_collection):
    body = {"queries": QUERIES, "qrels": QRELS, "k": [1, 3]}
    direct = client.post(f"/v1/collections/{judged_collection}/evaluate", json=body).json()

    accepted = client.post(f"/v1/collections/{judged_collection}/evaluations", json=body)
    assert accepted.status_code == 202
    assert accepted.json()["progress"]["total"] == 3
    job = wait_for_evaluation(client, accepted.json()["id"])

    assert job["status"] == "succeeded"
    assert job["progress"] == {"done": 3, "total": 3, "fraction": 1.0}
    assert job["result"]["mean"] == direct["mean"]
    assert job["result"]["per_query"] == direct["per_query"]
    assert job["result"]["skipped_queries"] == ["4"]


def test_evaluation_job_accepts_beir_files(client, judged_collection):
    queries = "\n".join(f'{{"_id": "{qid}", "text": "{text}"}}' for qid, text in QUERIES.items())
    qrels = "query-id\tcorpus-id\tscore\n1\tflutter\t2\n3\theat\t1\n"
    accepted = client.post(
        f"/v1/collections/{judged_collection}/evaluations",
        files=[
            ("queries", ("queries.jsonl", queries.encode(), "application/jsonl")),
            ("qrels", ("test.tsv", qrels.encode(), "text/tab-separated-values")),
        ],
        data={"k": "1,10"},
    )
    assert accepted.status_code == 202
    job = wait_for_evaluation(client, accepted.json()["id"])
    assert job["result"]["k"] == [1, 10]
    assert job["result"]["num_queries"] == 2


def test_unknown_evaluation_is_404(client):
    response = client.get("/v1/evaluations/77")
    assert response.status_code == 404
    assert response.json()["detail"] == "evaluation 77 not found"


def test_evaluation_job_without_judged_queries_is_422(client, collection_id):
    response = client.post(
        f"/v1/collections/{collection_id}/evaluations",
        json={"queries": {"1": "lift"}, "qrels": {"1": {"a": 0}}},
    )
    assert response.status_code == 422
    assert "no query can be evaluated" in response.json()["detail"]
