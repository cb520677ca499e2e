"""Exact search: every query is compared with every stored vector."""

from __future__ import annotations

import logging
from pathlib import Path

import faiss
import numpy as np

from indexing.indexes.base import IndexFileError, VectorIndex

logger = logging.getLogger(__name__)


class FlatIndex(VectorIndex):
    """Exact inner-product search with faiss IndexIDMap2 over IndexFlatIP.

    IndexIDMap2 keeps a reverse id map, so stored vectors can be looked up
    and removed by id. Search costs O(count * dimension) per query.
    """

    kind = "flat"

    def __init__(self, dimension: int) -> None:
        super().__init__(dimension)
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def _count(self) -> int:
        return int(self._index.ntotal)

    def _contains(self, ids: np.ndarray) -> np.ndarray:
        stored = faiss.vector_to_array(self._index.id_map)  # (count,) int64
        return np.isin(ids, stored)

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(vectors, ids)

    def _remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._index.search(queries, k)  # (n, k) float32, (n, k) int64
        return scores, ids

    def _write(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    def _read(self, path: Path) -> None:
        try:
            native = faiss.read_index(str(path))
        except RuntimeError as error:
            raise IndexFileError(f"cannot read faiss index {path}: {error}") from error
        if not isinstance(native, faiss.IndexIDMap2) or native.d != self.dimension:
            raise IndexFileError(
                f"{path} contains a {type(native).__name__} of dimension {native.d}, "
                f"expected an IndexIDMap2 of dimension {self.dimension}"
            )
        self._index = native
