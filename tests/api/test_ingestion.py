"""Ingestion through the API: file types, deletion, and recovery from a stopped process."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import Settings
from app.db.models import Collection, IngestionJob, JobStatus
from app.db.repository import NewDocument, create_job_with_documents
from app.runtime import Runtime
from tests.api.conftest import wait_for_job

HTML = b"""<html><head><title>Flutter</title><style>p {color: red}</style></head>
<body><h1>Flutter</h1><p>Flutter is a self-excited oscillation of a wing in an airstream.</p>
<script>var hidden = "do not index me";</script></body></html>"""

MARKDOWN = b"# Stall\n\nA wing stalls when the angle of attack exceeds the critical angle.\n"


def upload(client, collection_id, *files):
    return client.post(
        f"/v1/collections/{collection_id}/documents",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )


def search(client, collection_id, query, top_k=5):
    response = client.post(f"/v1/collections/{collection_id}/search", json={"query": query, "top_k": top_k})
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def test_html_and_markdown_are_indexed(client, collection_id):
    response = upload(client, collection_id, ("flutter.html", HTML), ("stall.md", MARKDOWN))
    assert response.status_code == 202
    assert wait_for_job(client, response.json()["job"]["id"])["status"] == "succeeded"

    hits = search(client, collection_id, "aeroelastic oscillation of a wing")
    assert hits[0]["external_id"] == "flutter.html"
    assert "do not index me" not in hits[0]["text"]
    assert "color: red" not in hits[0]["text"]
    assert search(client, collection_id, "critical angle of attack")[0]["external_id"] == "stall.md"


def test_deleted_document_leaves_search(client, collection_id):
    response = upload(client, collection_id, ("flutter.html", HTML), ("stall.md", MARKDOWN))
    wait_for_job(client, response.json()["job"]["id"])
    stall = next(d for d in response.json()["documents"] if d["external_id"] == "stall.md")

    assert client.delete(f"/v1/collections/{collection_id}/documents/{stall['id']}").status_code == 204
    assert client.get(f"/v1/collections/{collection_id}/documents/{stall['id']}").status_code == 404
    hits = search(client, collection_id, "critical angle of attack")
    assert [hit["external_id"] for hit in hits] == ["flutter.html"]
    assert client.get(f"/v1/collections/{collection_id}").json()["document_count"] == 1


def test_deleted_collection_removes_index_files(client, collection_id, tmp_path):
    response = upload(client, collection_id, ("stall.md", MARKDOWN))
    wait_for_job(client, response.json()["job"]["id"])
    index_folder = tmp_path / "data" / "indexes" / str(collection_id)
    assert index_folder.is_dir()

    assert client.delete(f"/v1/collections/{collection_id}").status_code == 204
    assert not index_folder.exists()
    assert client.get(f"/v1/collections/{collection_id}").status_code == 404


def test_interrupted_job_resumes_at_start(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    # A process that stored an upload and stopped before its worker finished.
    runtime = Runtime.build(settings)
    with runtime.session_factory() as session:
        collection = Collection(name="resumed")
        session.add(collection)
        session.flush()
        job, _ = create_job_with_documents(
            session,
            collection_id=collection.id,
            documents=[NewDocument(external_id="stall.md", filename="stall.md", title="Stall", text=MARKDOWN.decode())],
        )
        job.status = JobStatus.running
        session.commit()
        collection_id, job_id = collection.id, job.id
    runtime.engine.dispose()

    with TestClient(create_app(settings)) as client:
        job = wait_for_job(client, job_id)
        assert job["status"] == "succeeded"
        assert job["progress"]["done"] == 1
        assert search(client, collection_id, "critical angle")[0]["external_id"] == "stall.md"


def test_missing_index_is_rebuilt_from_database(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        collection_id = client.post("/v1/collections", json={"name": "rebuild"}).json()["id"]
        response = upload(client, collection_id, ("flutter.html", HTML), ("stall.md", MARKDOWN))
        wait_for_job(client, response.json()["job"]["id"])
        before = search(client, collection_id, "wing")

    shutil.rmtree(settings.index_dir / str(collection_id))
    with TestClient(create_app(settings)) as client:
        after = search(client, collection_id, "wing")
    assert [hit["chunk_id"] for hit in after] == [hit["chunk_id"] for hit in before]
    assert (settings.index_dir / str(collection_id)).is_dir()


def test_job_counts_documents(client, collection_id):
    response = upload(client, collection_id, ("a.txt", b"Lift."), ("b.txt", b"Drag."), ("c.txt", b"Thrust."))
    job = wait_for_job(client, response.json()["job"]["id"])
    assert job["progress"] == {"done": 3, "total": 3, "failed": 0, "fraction": 1.0}
    with_session = client.app.state.runtime.session_factory
    with with_session() as session:
        assert session.get(IngestionJob, job["id"]).status == JobStatus.succeeded
