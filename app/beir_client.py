"""Drive a running docent through its HTTP API with a BEIR dataset.

Uploads the corpus, follows the ingestion job, asks one question, and posts the
queries and qrels to the evaluation endpoint, printing what each step measured.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from tqdm import tqdm

POLL_SECONDS = 0.5


class ClientError(RuntimeError):
    """The service rejected a request or could not be reached."""


def _check(response: httpx.Response, action: str) -> dict:
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ClientError(f"{action} failed with HTTP {response.status_code}: {detail}")
    return response.json() if response.content else {}


def _create_collection(client: httpx.Client, name: str, replace: bool) -> dict:
    response = client.post("/v1/collections", json={"name": name})
    if response.status_code == 409 and replace:
        existing = _check(client.get("/v1/collections"), "listing collections")["data"]
        match = next(c for c in existing if c["name"] == name)
        _check(client.delete(f"/v1/collections/{match['id']}"), "deleting the old collection")
        response = client.post("/v1/collections", json={"name": name})
    elif response.status_code == 409:
        raise ClientError(f"collection {name!r} already exists; pass --collection NAME or --replace")
    return _check(response, "creating the collection")


def _follow(client: httpx.Client, path: str, job: dict, *, unit: str, label: str) -> dict:
    """Poll a job at path with a progress bar until it succeeds or fails."""
    with tqdm(total=job["progress"]["total"], unit=unit, desc=label) as bar:
        while True:
            job = _check(client.get(f"{path}/{job['id']}"), f"reading {path}/{job['id']}")
            bar.update(job["progress"]["done"] - bar.n)
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(POLL_SECONDS)


def _first_query(queries_path: Path) -> str:
    with queries_path.open(encoding="utf-8") as lines:
        return json.loads(next(line for line in lines if line.strip()))["text"]


def run_beir(
    *,
    base_url: str,
    dataset: Path,
    collection_name: str | None,
    question: str | None,
    split: str,
    ks: list[int],
    top_k: int,
    max_tokens: int,
    replace: bool = False,
) -> int:
    """Run the whole flow against the service at base_url; return a process exit code."""
    corpus, queries, qrels = dataset / "corpus.jsonl", dataset / "queries.jsonl", dataset / "qrels" / f"{split}.tsv"
    for path in (corpus, queries, qrels):
        if not path.is_file():
            print(f"error: {path} not found; a BEIR folder has corpus.jsonl, queries.jsonl and qrels/{split}.tsv")
            return 2
    # Ingestion and generation on a CPU take minutes, so only connecting is time-limited.
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(600.0, connect=10.0)) as client:
        try:
            _check(client.get("/healthz"), "checking the service")
            return _run(client, dataset, corpus, queries, qrels, collection_name, question, ks, top_k, max_tokens, replace)
        except (ClientError, httpx.HTTPError) as error:
            print(f"error: {error}")
            return 1


def _run(client, dataset, corpus, queries, qrels, collection_name, question, ks, top_k, max_tokens, replace) -> int:
    collection = _create_collection(client, collection_name or dataset.name, replace)
    print(f"collection {collection['name']!r} has id {collection['id']}")

    started = time.perf_counter()
    with corpus.open("rb") as file:
        upload = _check(
            client.post(
                f"/v1/collections/{collection['id']}/documents",
                files=[("files", (corpus.name, file, "application/jsonl"))],
            ),
            "uploading the corpus",
        )
    for record in upload["skipped"]:
        print(f"skipped {record['file']} line {record['line']}: {record['reason']}")
    job = _follow(client, "/v1/jobs", upload["job"], unit="doc", label="ingesting")
    seconds = time.perf_counter() - started
    done = job["progress"]["done"]
    print(f"job {job['id']} {job['status']}: {done} documents in {seconds:.1f} s, {done / seconds:.1f} documents/s")
    if job["status"] != "succeeded":
        print(f"error: {job['error']}")
        return 1

    question = question or _first_query(queries)
    answer = _check(
        client.post(
            f"/v1/collections/{collection['id']}/ask",
            json={"question": question, "top_k": top_k, "max_tokens": max_tokens},
        ),
        "asking",
    )
    print(f"\nquestion: {question}\nanswer ({answer['strategy']}): {answer['answer']}")
    for source in answer["sources"]:
        print(f"  [{source['number']}] document {source['external_id']} (score {source['score']:.3f})")
    usage = answer["usage"]
    print(f"tokens: {usage['prompt_tokens']} prompt, {usage['completion_tokens']} completion")
    print("timings (ms): " + ", ".join(f"{stage} {ms:.0f}" for stage, ms in answer["timings_ms"].items()))

    with queries.open("rb") as queries_file, qrels.open("rb") as qrels_file:
        evaluation = _check(
            client.post(
                f"/v1/collections/{collection['id']}/evaluations",
                files=[
                    ("queries", (queries.name, queries_file, "application/jsonl")),
                    ("qrels", (qrels.name, qrels_file, "text/tab-separated-values")),
                ],
                data={"k": ",".join(str(k) for k in ks)},
            ),
            "starting the evaluation",
        )
    evaluation = _follow(client, "/v1/evaluations", evaluation, unit="query", label="evaluating")
    if evaluation["status"] != "succeeded":
        print(f"error: evaluation failed: {evaluation['error']}")
        return 1
    report = evaluation["result"]
    print(f"\nretrieval on {report['num_queries']} queries (depth {report['depth']}):")
    for name, value in report["mean"].items():
        print(f"  {name:<14} {value:.4f}")
    return 0
