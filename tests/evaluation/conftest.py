"""Fixtures for the evaluation tests: the Cranfield collection and a TF-IDF run over it."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from app.evaluation.beir import read_judgements

RUN_DEPTH = 100


@pytest.fixture(scope="session")
def cranfield_judgements(cranfield_dir):
    """``(queries, qrels)`` of Cranfield, read with the code under test."""
    return read_judgements(cranfield_dir)


@pytest.fixture(scope="session")
def cranfield_run(cranfield_dir, cranfield_judgements) -> dict[str, dict[str, float]]:
    """Top-100 TF-IDF cosine run for every Cranfield query, deterministic."""
    queries, _ = cranfield_judgements
    doc_ids, doc_texts = [], []
    with open(cranfield_dir / "corpus.jsonl", encoding="utf-8") as corpus:
        for line in corpus:
            record = json.loads(line)
            doc_ids.append(record["_id"])
            doc_texts.append(f"{record['title']} {record['text']}")

    vectorizer = TfidfVectorizer(sublinear_tf=True)
    doc_vectors = vectorizer.fit_transform(doc_texts)  # (1400, vocab), rows L2-normalised
    query_ids = list(queries)
    query_vectors = vectorizer.transform([queries[query_id] for query_id in query_ids])  # (225, vocab)
    scores = (query_vectors @ doc_vectors.T).toarray()  # (225, 1400) cosine similarities

    run = {}
    for row, query_id in enumerate(query_ids):
        top = np.argsort(-scores[row], kind="stable")[:RUN_DEPTH]
        run[query_id] = {doc_ids[i]: float(scores[row, i]) for i in top}
    return run
