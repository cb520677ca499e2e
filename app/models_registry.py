"""Lazily loaded models shared by every request and worker of one process."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from app.config import Settings
from app.model_files import default_embedder_path, default_llm_path

logger = logging.getLogger(__name__)


class ModelRegistry:
    """Owns the embedder, the chunker built on its tokenizer, and the LLM.

    Each is loaded on first use, once, under a lock; `preload` loads both up front
    so the first request does not pay for it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._embedder = None
        self._chunker = None
        self._llm = None

    @property
    def embedder_path(self) -> Path:
        return self.settings.embedder_path or default_embedder_path()

    @property
    def llm_path(self) -> Path:
        return self.settings.llm_path or default_llm_path()

    @property
    def embedder(self):
        with self._lock:
            if self._embedder is None:
                from indexing.embedding import Embedder

                # The model folder is local, so never let the hub client reach out.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                started = time.perf_counter()
                self._embedder = Embedder(self.embedder_path, batch_size=self.settings.embed_batch_size)
                logger.info(
                    "loaded embedder %s in %.1f s", self.embedder_path, time.perf_counter() - started
                )
            return self._embedder

    @property
    def chunker(self):
        embedder = self.embedder
        with self._lock:
            if self._chunker is None:
                from indexing.chunking import Chunker

                self._chunker = Chunker(
                    embedder.tokenizer,
                    chunk_tokens=self.settings.chunk_tokens or embedder.max_window,
                    overlap_tokens=self.settings.chunk_overlap,
                    max_window=embedder.max_window,
                )
            return self._chunker

    @property
    def llm(self):
        with self._lock:
            if self._llm is None:
                from app.llm import load_llm

                started = time.perf_counter()
                self._llm = load_llm(self.llm_path, max_context=self.settings.llm_context)
                logger.info("loaded LLM %s in %.1f s", self.llm_path, time.perf_counter() - started)
            return self._llm

    def embed(self, texts, progress=None):
        """Embed texts with the shared embedder, which serves one caller at a time."""
        return self.embedder.embed(texts, progress=progress)

    def preload(self) -> None:
        self.chunker
        self.llm
