"""Tests for create_index and load_index."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexing.indexes.base import METADATA_FILE, IndexFileError, VectorIndexError
from indexing.indexes.factory import INDEX_KINDS, UnknownIndexKindError, create_index, load_index
from indexing.indexes.flat import FlatIndex


def test_create_flat():
    index = create_index("flat", 8)
    assert isinstance(index, FlatIndex)
    assert index.kind == "flat"
    assert index.dimension == 8
    assert index.count == 0


def test_unknown_kind_lists_known():
    with pytest.raises(UnknownIndexKindError) as caught:
        create_index("annoy", 8)
    assert "'annoy'" in str(caught.value)
    for kind in INDEX_KINDS:
        assert kind in str(caught.value)


def test_unknown_parameter_rejected():
    with pytest.raises(VectorIndexError, match="invalid parameters for a 'flat' index"):
        create_index("flat", 8, nlist=10)


def test_load_index_by_recorded_kind(tmp_path):
    vectors = np.eye(8, dtype=np.float32)[:3]
    index = create_index("flat", 8)
    index.add(np.array([10, 11, 12]), vectors)
    index.save(tmp_path)

    loaded = load_index(tmp_path)
    assert isinstance(loaded, FlatIndex)
    np.testing.assert_array_equal(loaded.search(vectors, k=1).ids[:, 0], [10, 11, 12])


def test_load_index_unknown_kind(tmp_path):
    create_index("flat", 8).save(tmp_path)
    record = json.loads((tmp_path / METADATA_FILE).read_text())
    record["kind"] = "mystery"
    (tmp_path / METADATA_FILE).write_text(json.dumps(record))
    with pytest.raises(IndexFileError, match="unknown kind"):
        load_index(tmp_path)


def test_load_index_missing(tmp_path):
    with pytest.raises(IndexFileError, match="no saved index"):
        load_index(tmp_path)
