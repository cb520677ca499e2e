"""An in-process client over a fresh data folder, for request and error handling tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import Settings


@pytest.fixture()
def client(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture()
def collection_id(client) -> int:
    response = client.post("/v1/collections", json={"name": "notes"})
    assert response.status_code == 201
    return response.json()["id"]


def wait_until_done(client, path: str, timeout: float = 120.0) -> dict:
    """Poll a job resource until its status is final, and return it."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(path).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"{path} did not finish within {timeout} s: {job}")


def wait_for_job(client, job_id: int, timeout: float = 120.0) -> dict:
    return wait_until_done(client, f"/v1/jobs/{job_id}", timeout)
