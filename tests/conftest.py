"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The model files are installed locally; the hub client must never try the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The shared folder sits beside the repository, both on developer machines and in CI.
_DEFAULT_CRANFIELD_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cranfield"


@pytest.fixture(scope="session")
def cranfield_dir() -> Path:
    folder = Path(os.environ.get("DOCENT_CRANFIELD_DIR", _DEFAULT_CRANFIELD_DIR))
    if not (folder / "corpus.jsonl").is_file():
        pytest.fail(f"Cranfield collection not found in {folder}; set DOCENT_CRANFIELD_DIR to its folder")
    return folder
