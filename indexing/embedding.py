"""Embed text with a local sentence-transformers model into unit-length float32 vectors."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

logger = logging.getLogger(__name__)

# huggingface_hub reads this when it is first imported, so it is set before
# sentence_transformers is imported below. The model is always a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class EmbedderLoadError(RuntimeError):
    """The model folder is missing or is not a sentence-transformers model."""


class Embedder:
    """A sentence-transformers model on one device, returning L2-normalised float32 vectors.

    Torch keeps its default intra-op thread count (torch.get_num_threads(),
    usually the number of physical cores), which suits one embedder per
    process. Calls are serialised with a lock, because the model's fast
    tokenizer can raise "Already borrowed" when two threads use it at once.

    Args:
        path: folder of a sentence-transformers model (with modules.json).
        device: torch device, 'cpu' by default.
        batch_size: texts per forward pass when embed() gets no batch_size.
        model_name: name to report; defaults to the model card's title
            (the first '# ' line of README.md), else the folder name.
    """

    def __init__(
        self, path: str | Path, device: str = "cpu", batch_size: int = 32, model_name: str | None = None
    ) -> None:
        path = Path(path)
        if not (path / "modules.json").is_file():
            raise EmbedderLoadError(
                f"{path} is not a sentence-transformers model folder (no modules.json); "
                "pass the folder from app.model_files.default_embedder_path()"
            )
        _check_batch_size(batch_size)

        # Imported here because it takes seconds and pulls in torch.
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(str(path), device=device, local_files_only=True)
        self._lock = threading.Lock()
        self.path = path
        self.model_name = model_name or _model_card_title(path) or path.name
        self.device = device
        self.batch_size = batch_size
        logger.info(
            "loaded embedder %s on %s: dimension %d, window %d tokens",
            self.model_name, device, self.dimension, self.max_window,
        )

    @property
    def dimension(self) -> int:
        """Length of each embedding vector."""
        # sentence-transformers 6.3 warns that get_sentence_embedding_dimension
        # was renamed to get_embedding_dimension; older versions have only the former.
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        if get_dimension is None:
            get_dimension = self._model.get_sentence_embedding_dimension
        return int(get_dimension())

    @property
    def tokenizer(self) -> Any:
        """The model's Hugging Face fast tokenizer.

        Calling it from another thread while embed() runs can raise "Already
        borrowed". Chunker works on its own copy, so it is safe to pass there.
        """
        return self._model.tokenizer

    @property
    def max_window(self) -> int:
        """Tokens of text the model reads before truncating: max_seq_length minus special tokens."""
        special = self._model.tokenizer.num_special_tokens_to_add(pair=False)
        return int(self._model.max_seq_length) - special

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed texts in batches, in input order.

        Texts are sorted by length before batching, as sentence-transformers
        does, so each batch pads little. Text beyond max_window tokens is
        truncated by the model; split long documents with Chunker first.

        Args:
            texts: the texts; a single str is rejected.
            batch_size: texts per forward pass; defaults to the constructor's.
            progress: called after each batch with the number of texts embedded so far.

        Returns:
            float32 array (len(texts), dimension), each row of unit L2 norm.
        """
        if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
            raise TypeError("texts must be a sequence of str; wrap a single text in a list")
        batch_size = self.batch_size if batch_size is None else batch_size
        _check_batch_size(batch_size)

        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)  # (n, d)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for first in range(0, len(texts), batch_size):
            batch_positions = order[first : first + batch_size]
            batch = [texts[i] for i in batch_positions]
            with self._lock:
                batch_vectors = self._model.encode(
                    batch,
                    batch_size=len(batch),
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )  # (len(batch), d)
            vectors[batch_positions] = batch_vectors
            if progress is not None:
                progress(first + len(batch))
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; all-MiniLM-L6-v2 uses no query prefix. Returns float32 (dimension,)."""
        if not isinstance(text, str):
            raise TypeError(f"query must be a str, got {type(text).__name__}")
        return self.embed([text])[0]


def _model_card_title(path: Path) -> str | None:
    """Return the first level-1 heading of the model card, where Hugging Face cards name the model."""
    try:
        card = (path / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for line in card.splitlines():
        if line.startswith("# "):
            return line[2:].strip() or None
    return None


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
