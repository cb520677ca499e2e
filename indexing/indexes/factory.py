"""Create or load a vector index by its kind name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexing.indexes.base import IndexFileError, IndexMetadata, VectorIndex, VectorIndexError
from indexing.indexes.flat import FlatIndex

INDEX_KINDS: dict[str, type[VectorIndex]] = {
    FlatIndex.kind: FlatIndex,
}


class UnknownIndexKindError(VectorIndexError, ValueError):
    """No index class is registered under the requested kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"unknown index kind {kind!r}; known kinds: {', '.join(sorted(INDEX_KINDS))}")


def index_class(kind: str) -> type[VectorIndex]:
    """Return the index class registered under `kind`."""
    try:
        return INDEX_KINDS[kind]
    except KeyError:
        raise UnknownIndexKindError(kind) from None


def create_index(kind: str, dimension: int, **params: Any) -> VectorIndex:
    """Build an empty index of `kind`; params are that kind's build parameters."""
    cls = index_class(kind)
    try:
        return cls(dimension, **params)
    except TypeError as error:
        raise VectorIndexError(f"invalid parameters for a {kind!r} index: {error}") from error


def load_index(folder: Path) -> VectorIndex:
    """Load the index saved in `folder`, whatever its kind, as recorded in its metadata."""
    metadata = IndexMetadata.read(Path(folder))
    try:
        cls = index_class(metadata.kind)
    except UnknownIndexKindError as error:
        raise IndexFileError(f"{folder} contains an index of unknown kind: {error}") from error
    return cls.load(folder)
