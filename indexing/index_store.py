"""Per-collection vector indexes: kept in memory, persisted under the data folder.

The database is the source of truth: an index file that is missing, unreadable
or out of step with the stored chunks is rebuilt from the vectors in the chunks
table.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexing.indexes.base import SearchResult, VectorIndex
from indexing.indexes.factory import create_index, load_index

logger = logging.getLogger(__name__)

# (collection_id) -> (chunk ids, vectors) as stored in the database.
VectorSource = Callable[[int], tuple[np.ndarray, np.ndarray]]


class CollectionDroppedError(KeyError):
    """The collection was deleted; its index must not be written again."""


class IndexStore:
    """Loads, mutates, searches and saves one index per collection, each under its own lock."""

    def __init__(self, root: Path, *, dimension: Callable[[], int], load_vectors: VectorSource) -> None:
        self.root = root
        self._dimension = dimension
        self._load_vectors = load_vectors
        self._indexes: dict[int, VectorIndex] = {}
        self._locks: dict[int, threading.RLock] = {}
        self._registry_lock = threading.Lock()
        self._dropped: set[int] = set()

    def folder(self, collection_id: int) -> Path:
        return self.root / str(collection_id)

    def lock(self, collection_id: int) -> threading.RLock:
        with self._registry_lock:
            return self._locks.setdefault(collection_id, threading.RLock())

    def _get(self, collection_id: int, kind: str) -> VectorIndex:
        if collection_id in self._dropped:
            raise CollectionDroppedError(collection_id)
        index = self._indexes.get(collection_id)
        if index is None:
            index = self._open(collection_id, kind)
            self._indexes[collection_id] = index
        return index

    def _open(self, collection_id: int, kind: str) -> VectorIndex:
        ids, vectors = self._load_vectors(collection_id)
        folder = self.folder(collection_id)
        if folder.exists():
            try:
                index = load_index(folder)
            except Exception as error:  # a torn or foreign file: the database can rebuild it
                logger.warning("index of collection %d is unreadable (%s); rebuilding", collection_id, error)
            else:
                # NOTE: equal counts are taken as "in step"; a delete followed by an
                # unsaved add of the same size would go unnoticed until the next save.
                if index.count == len(ids) and index.kind == kind:
                    return index
                logger.warning(
                    "index of collection %d contains %d vectors but the database has %d; rebuilding",
                    collection_id, index.count, len(ids),
                )
        return self._rebuild(collection_id, kind, ids, vectors)

    def _rebuild(self, collection_id: int, kind: str, ids: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        index = create_index(kind, self._dimension())
        if len(ids):
            if index.needs_training:
                index.train(vectors)
            index.add(ids, vectors)
        index.save(self.folder(collection_id))
        logger.info("built %s index of collection %d from %d stored vectors", kind, collection_id, len(ids))
        return index

    def ensure_loaded(self, collection_id: int, kind: str) -> None:
        """Load or rebuild the index now, before the caller commits chunks it will add.

        Loading after that commit would rebuild the index with those chunks
        already in it, and the add that follows would duplicate them.
        """
        with self.lock(collection_id):
            self._get(collection_id, kind)

    def add(self, collection_id: int, kind: str, ids: np.ndarray, vectors: np.ndarray) -> None:
        with self.lock(collection_id):
            self._get(collection_id, kind).add(ids, vectors)

    def remove(self, collection_id: int, kind: str, ids: np.ndarray) -> int:
        with self.lock(collection_id):
            return self._get(collection_id, kind).remove(ids)

    def search(self, collection_id: int, kind: str, queries: np.ndarray, k: int) -> SearchResult:
        with self.lock(collection_id):
            return self._get(collection_id, kind).search(queries, k)

    def count(self, collection_id: int, kind: str) -> int:
        with self.lock(collection_id):
            return self._get(collection_id, kind).count

    def save(self, collection_id: int, kind: str) -> None:
        with self.lock(collection_id):
            self._get(collection_id, kind).save(self.folder(collection_id))

    def drop(self, collection_id: int) -> None:
        """Forget a deleted collection's index and remove its files."""
        with self.lock(collection_id):
            self._dropped.add(collection_id)
            self._indexes.pop(collection_id, None)
            shutil.rmtree(self.folder(collection_id), ignore_errors=True)
