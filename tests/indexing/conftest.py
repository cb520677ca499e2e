"""Fixtures for the ingestion tests: the embedder, loaded once per session."""

from __future__ import annotations

import pytest

from app.model_files import default_embedder_path
from indexing.embedding import Embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """all-MiniLM-L6-v2 on the CPU."""
    return Embedder(default_embedder_path(), device="cpu")


@pytest.fixture(scope="session")
def tokenizer(embedder):
    """The embedder's Hugging Face fast tokenizer."""
    return embedder.tokenizer
