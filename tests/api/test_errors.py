"""Bad requests get a 4xx JSON error naming what to fix, and lose no accepted data."""

from __future__ import annotations

from tests.api.conftest import wait_for_job


def upload(client, collection_id, *files):
    return client.post(
        f"/v1/collections/{collection_id}/documents",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def test_unknown_collection_is_404(client):
    for method, path, body in [
        ("get", "/v1/collections/999", None),
        ("delete", "/v1/collections/999", None),
        ("get", "/v1/collections/999/documents", None),
        ("post", "/v1/collections/999/search", {"query": "wing", "top_k": 3}),
        ("post", "/v1/collections/999/ask", {"question": "wing?"}),
    ]:
        response = client.request(method, path, json=body)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "collection 999 not found"


def test_unknown_job_is_404(client):
    response = client.get("/v1/jobs/12345")
    assert response.status_code == 404
    assert response.json()["detail"] == "job 12345 not found"


def test_duplicate_collection_name_is_409(client, collection_id):
    response = client.post("/v1/collections", json={"name": "notes"})
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_blank_collection_name_is_422(client):
    response = client.post("/v1/collections", json={"name": "   "})
    assert response.status_code == 422


def test_unknown_file_type_is_415(client, collection_id):
    response = upload(client, collection_id, ("slides.pptx", b"binary"))
    assert response.status_code == 415
    body = response.json()
    assert body["file"] == "slides.pptx"
    assert ".pdf" in body["detail"]


def test_file_without_text_is_422(client, collection_id):
    response = upload(client, collection_id, ("blank.txt", b" \n\t\n"))
    assert response.status_code == 422
    assert response.json()["file"] == "blank.txt"


def test_malformed_jsonl_names_line(client, collection_id):
    corpus = b'{"_id": "a", "text": "first"}\n{"_id": "b", "text": "second"}\n{"_id": "c", "text": \n'
    response = upload(client, collection_id, ("corpus.jsonl", corpus))
    assert response.status_code == 422
    body = response.json()
    assert body["line"] == 3
    assert "3" in body["detail"]


def test_top_k_out_of_range_is_422(client, collection_id):
    for top_k in (0, 101):
        response = client.post(f"/v1/collections/{collection_id}/search", json={"query": "wing", "top_k": top_k})
        assert response.status_code == 422, top_k
        assert response.json()["detail"][0]["loc"] == ["body", "top_k"]
    response = client.post(f"/v1/collections/{collection_id}/ask", json={"question": "why?", "top_k": 0})
    assert response.status_code == 422


def test_failed_upload_keeps_accepted_documents(client, collection_id):
    first = upload(client, collection_id, ("a.txt", b"Wings generate lift."))
    assert first.status_code == 202
    job = wait_for_job(client, first.json()["job"]["id"])
    assert job["status"] == "succeeded"

    # One bad file rejects the whole request, and nothing it carried is stored.
    second = upload(client, collection_id, ("b.txt", b"Rudders steer."), ("c.exe", b"MZ"))
    assert second.status_code == 415

    listing = client.get(f"/v1/collections/{collection_id}/documents").json()
    assert [d["external_id"] for d in listing["data"]] == ["a.txt"]
    assert listing["data"][0]["status"] == "indexed"
    hits = client.post(f"/v1/collections/{collection_id}/search", json={"query": "lift", "top_k": 5}).json()["hits"]
    assert [hit["external_id"] for hit in hits] == ["a.txt"]


def test_duplicate_external_id_is_409(client, collection_id):
    assert upload(client, collection_id, ("a.txt", b"Wings generate lift.")).status_code == 202
    response = upload(client, collection_id, ("a.txt", b"Another text."))
    assert response.status_code == 409
    assert response.json()["external_ids"] == ["a.txt"]


def test_evaluate_rejects_bad_qrels_line(client, collection_id):
    response = client.post(
        f"/v1/collections/{collection_id}/evaluate",
        files=[
            ("queries", ("queries.jsonl", b'{"_id": "1", "text": "lift"}\n', "application/jsonl")),
            ("qrels", ("test.tsv", b"query-id\tcorpus-id\tscore\n1\ta.txt\tx\n", "text/plain")),
        ],
    )
    assert response.status_code == 422
    assert response.json()["line"] == 2


def test_evaluate_without_judged_queries_is_422(client, collection_id):
    response = client.post(
        f"/v1/collections/{collection_id}/evaluate",
        json={"queries": {"1": "lift"}, "qrels": {"2": {"a.txt": 1}}},
    )
    assert response.status_code == 422
    assert "no query can be evaluated" in response.json()["detail"]


def test_errors_are_json_with_detail(client):
    response = client.post("/v1/collections", content=b"not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_ask_on_empty_collection_is_409(client, collection_id):
    response = client.post(f"/v1/collections/{collection_id}/ask", json={"question": "What is flutter?"})
    assert response.status_code == 409
    assert "no indexed documents" in response.json()["detail"]


def test_docs_page_uses_local_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text
    script = client.get("/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
