"""Interface shared by every vector index: add, remove, search, save, load.

Vectors are float32 rows, expected to be L2-normalised, so the inner product
that every index ranks by equals cosine similarity. Ids are non-negative
int64, unique within an index, because -1 marks a missing search result.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

logger = logging.getLogger(__name__)

METADATA_FILE = "index.json"
METADATA_FORMAT_VERSION = 1
METRIC = "inner_product"


class VectorIndexError(Exception):
    """A vector index operation failed."""


class DimensionMismatchError(VectorIndexError, ValueError):
    """Vectors have a different dimension from the index."""


class InvalidVectorsError(VectorIndexError, ValueError):
    """Vectors, ids or k have the wrong type, shape or values."""


class DuplicateIdError(VectorIndexError, ValueError):
    """An id is added twice."""


class IndexNotTrainedError(VectorIndexError):
    """An index that needs training got vectors before train()."""


class IndexFileError(VectorIndexError):
    """A saved index is missing, unreadable or inconsistent with its metadata."""


@dataclass(frozen=True)
class SearchResult:
    """Nearest neighbours per query, best first; missing results are id -1 with score -inf."""

    scores: np.ndarray  # (n_queries, k) float32
    ids: np.ndarray  # (n_queries, k) int64


@dataclass(frozen=True)
class IndexMetadata:
    """The JSON record saved beside the index file: how it was built and what it contains."""

    kind: str
    dimension: int
    count: int
    parameters: dict[str, Any] = field(default_factory=dict)
    metric: str = METRIC
    faiss_version: str = faiss.__version__
    created_at: str = ""
    saved_at: str = ""
    format_version: int = METADATA_FORMAT_VERSION

    @classmethod
    def read(cls, folder: Path) -> IndexMetadata:
        """Read the metadata record of the index saved in `folder`."""
        path = Path(folder) / METADATA_FILE
        try:
            metadata = cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as error:
            raise IndexFileError(f"no saved index in {folder}: {METADATA_FILE} not found") from error
        except (OSError, ValueError, TypeError) as error:
            raise IndexFileError(f"invalid index metadata {path}: {error}") from error
        if metadata.format_version > METADATA_FORMAT_VERSION:
            raise IndexFileError(
                f"{path} has format version {metadata.format_version}, newer than the supported "
                f"{METADATA_FORMAT_VERSION}; upgrade docent to load it"
            )
        return metadata


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_atomically(path: Path, write: Any) -> None:
    """Call write(temp_path), fsync the temp file, then rename it over `path`.

    Readers see either the old file or the new one, never a partial write.
    """
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    temp_path = Path(temp_name)
    try:
        write(temp_path)
        with open(temp_path, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class VectorIndex:
    """Base class of the vector indexes; subclasses implement the underscored hooks.

    Args:
        dimension: length of every vector.
        **parameters: kind-specific build parameters, saved in the metadata.
    """

    kind: ClassVar[str] = ""
    index_file: ClassVar[str] = "index.faiss"
    needs_training: ClassVar[bool] = False

    def __init__(self, dimension: int, **parameters: Any) -> None:
        if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
            raise InvalidVectorsError(f"dimension must be a positive integer, got {dimension!r}")
        self.dimension = dimension
        self.parameters = dict(parameters)
        self.created_at = _now()

    # ------------------------------------------------------------ public verbs

    @property
    def count(self) -> int:
        """Number of vectors in the index."""
        return self._count()

    @property
    def is_trained(self) -> bool:
        """True when the index can take vectors; always True for kinds without training."""
        return True

    def train(self, vectors: np.ndarray) -> None:
        """Fit the index's quantizers or graph parameters; a no-op for kinds without training."""
        vectors = self._check_vectors(vectors)
        if self.needs_training:
            self._train(vectors)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under ids; raises DuplicateIdError if an id is already present or repeated."""
        vectors = self._check_vectors(vectors)
        ids = self._check_ids(ids)
        if ids.shape[0] != vectors.shape[0]:
            raise InvalidVectorsError(f"got {ids.shape[0]} ids for {vectors.shape[0]} vectors; pass one id per vector")
        if not self.is_trained:
            raise IndexNotTrainedError(f"{self.kind} index is not trained; call train() with sample vectors first")

        unique_ids, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            raise DuplicateIdError(f"ids repeated within one add: {unique_ids[counts > 1][:10].tolist()}")
        present = ids[self._contains(ids)]
        if present.size:
            raise DuplicateIdError(
                f"ids already in the index: {present[:10].tolist()}; remove them before adding again"
            )
        if ids.size:
            self._add(ids, vectors)

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id and return how many were removed; unknown ids are ignored."""
        ids = self._check_ids(ids)
        if ids.size == 0 or self.count == 0:
            return 0
        return self._remove(np.unique(ids))

    def search(self, queries: np.ndarray, k: int) -> SearchResult:
        """Find the k highest inner products for each query row.

        Results keep shape (n_queries, k): when the index contains fewer than k
        vectors, the missing places get id -1 and score -inf.
        """
        queries = self._check_vectors(queries)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidVectorsError(f"k must be a positive integer, got {k!r}")
        k = int(k)
        n_queries = queries.shape[0]
        scores = np.full((n_queries, k), -np.inf, dtype=np.float32)  # (n, k)
        ids = np.full((n_queries, k), -1, dtype=np.int64)  # (n, k)

        found = min(k, self.count)
        if n_queries and found:
            found_scores, found_ids = self._search(queries, found)  # (n, found) each
            missing = found_ids < 0  # approximate kinds may return fewer than asked
            found_scores[missing] = -np.inf
            scores[:, :found] = found_scores
            ids[:, :found] = found_ids
        return SearchResult(scores=scores, ids=ids)

    # -------------------------------------------------------------- persistence

    def metadata(self) -> IndexMetadata:
        """Describe the index as the record that save() writes."""
        return IndexMetadata(
            kind=self.kind,
            dimension=self.dimension,
            count=self.count,
            parameters=dict(self.parameters),
            created_at=self.created_at,
        )

    def save(self, folder: Path) -> None:
        """Write the index file, then its metadata record, each through a temp file and rename.

        NOTE: the two files are replaced one after the other, so a crash in
        between leaves a new index file beside old metadata. load() detects
        this through the count and dimension checks and raises IndexFileError.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        metadata = IndexMetadata(**{**asdict(self.metadata()), "saved_at": _now()})

        _write_atomically(folder / self.index_file, self._write)
        _write_atomically(
            folder / METADATA_FILE,
            lambda path: path.write_text(json.dumps(asdict(metadata), indent=2) + "\n", encoding="utf-8"),
        )
        _fsync_folder(folder)
        logger.info("saved %s index with %d vectors to %s", self.kind, metadata.count, folder)

    @classmethod
    def load(cls, folder: Path) -> VectorIndex:
        """Load an index of this kind saved by save(), checking it against its metadata."""
        folder = Path(folder)
        metadata = IndexMetadata.read(folder)
        if metadata.kind != cls.kind:
            raise IndexFileError(f"{folder} contains a {metadata.kind!r} index, not {cls.kind!r}; use load_index()")

        index = cls(metadata.dimension, **metadata.parameters)
        index.created_at = metadata.created_at
        index._read(folder / index.index_file)
        if index.count != metadata.count:
            raise IndexFileError(
                f"index file in {folder} contains {index.count} vectors but its metadata records {metadata.count}; "
                "the save was interrupted, so save the index again"
            )
        return index

    # ------------------------------------------------------------- validation

    def _check_vectors(self, vectors: np.ndarray) -> np.ndarray:
        if not isinstance(vectors, np.ndarray):
            raise InvalidVectorsError(f"vectors must be a numpy array, got {type(vectors).__name__}")
        if vectors.dtype != np.float32:
            raise InvalidVectorsError(f"vectors must be float32, got {vectors.dtype}; convert with .astype(np.float32)")
        if vectors.ndim != 2:
            raise InvalidVectorsError(f"vectors must be 2-D (n, {self.dimension}), got shape {vectors.shape}")
        if vectors.shape[1] != self.dimension:
            raise DimensionMismatchError(
                f"vectors have dimension {vectors.shape[1]} but the index has dimension {self.dimension}"
            )
        if not np.isfinite(vectors).all():
            raise InvalidVectorsError("vectors contain NaN or infinite values")
        return np.ascontiguousarray(vectors)

    def _check_ids(self, ids: np.ndarray) -> np.ndarray:
        if not isinstance(ids, np.ndarray):
            raise InvalidVectorsError(f"ids must be a numpy array, got {type(ids).__name__}")
        if ids.dtype.kind not in "iu":
            raise InvalidVectorsError(f"ids must be an integer array, got {ids.dtype}")
        if ids.ndim != 1:
            raise InvalidVectorsError(f"ids must be 1-D, got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.int64).max):
            raise InvalidVectorsError("ids must be between 0 and 2**63 - 1 because -1 marks a missing result")
        return np.ascontiguousarray(ids, dtype=np.int64)

    # ------------------------------------------------- hooks for each index kind

    def _count(self) -> int:
        raise NotImplementedError

    def _train(self, vectors: np.ndarray) -> None:
        raise NotImplementedError(f"{self.kind} index needs training but implements no _train")

    def _contains(self, ids: np.ndarray) -> np.ndarray:
        """Return a bool mask (n,) of the ids already in the index."""
        raise NotImplementedError

    def _add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        raise NotImplementedError

    def _remove(self, ids: np.ndarray) -> int:
        raise NotImplementedError

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return scores (n, k) float32 and ids (n, k) int64 for 1 <= k <= count."""
        raise NotImplementedError

    def _write(self, path: Path) -> None:
        raise NotImplementedError

    def _read(self, path: Path) -> None:
        raise NotImplementedError
