"""Tests for FlatIndex against exact brute-force numpy search on seeded data."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from indexing.indexes.base import (
    METADATA_FILE,
    DimensionMismatchError,
    DuplicateIdError,
    IndexFileError,
    InvalidVectorsError,
    SearchResult,
)
from indexing.indexes.flat import FlatIndex

DIMENSION = 32


def unit_vectors(count: int, seed: int, dimension: int = DIMENSION) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return exact top-k (scores, ids) by inner product."""
    scores = queries @ vectors.T  # (n_queries, n_vectors)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), ids[order]


@pytest.fixture
def data():
    ids = np.arange(1000, 1500, dtype=np.int64)
    return ids, unit_vectors(500, seed=1)


@pytest.fixture
def index(data) -> FlatIndex:
    ids, vectors = data
    flat = FlatIndex(DIMENSION)
    flat.add(ids, vectors)
    return flat


class TestSearch:
    def test_matches_brute_force(self, index, data):
        ids, vectors = data
        queries = unit_vectors(20, seed=2)
        result = index.search(queries, k=10)
        expected_scores, expected_ids = brute_force(ids, vectors, queries, 10)
        np.testing.assert_array_equal(result.ids, expected_ids)
        np.testing.assert_allclose(result.scores, expected_scores, atol=1e-5)

    def test_result_types(self, index):
        result = index.search(unit_vectors(3, seed=3), k=4)
        assert isinstance(result, SearchResult)
        assert result.scores.dtype == np.float32
        assert result.ids.dtype == np.int64
        assert result.scores.shape == result.ids.shape == (3, 4)

    def test_stored_vector_finds_itself(self, index, data):
        ids, vectors = data
        result = index.search(vectors[[7, 300]], k=1)
        np.testing.assert_array_equal(result.ids[:, 0], ids[[7, 300]])
        np.testing.assert_allclose(result.scores[:, 0], 1.0, atol=1e-5)

    def test_k_above_count_padded(self):
        flat = FlatIndex(DIMENSION)
        vectors = unit_vectors(3, seed=4)
        flat.add(np.array([5, 6, 7]), vectors)
        queries = unit_vectors(2, seed=5)
        result = flat.search(queries, k=5)
        expected_scores, expected_ids = brute_force(np.array([5, 6, 7]), vectors, queries, 3)
        assert result.ids.shape == (2, 5)
        np.testing.assert_array_equal(result.ids[:, :3], expected_ids)
        np.testing.assert_allclose(result.scores[:, :3], expected_scores, atol=1e-5)
        assert (result.ids[:, 3:] == -1).all()
        assert np.isneginf(result.scores[:, 3:]).all()

    def test_empty_index_all_padding(self):
        result = FlatIndex(DIMENSION).search(unit_vectors(2, seed=6), k=3)
        assert (result.ids == -1).all()
        assert np.isneginf(result.scores).all()

    def test_no_queries(self, index):
        result = index.search(np.empty((0, DIMENSION), dtype=np.float32), k=5)
        assert result.ids.shape == (0, 5)

    @pytest.mark.parametrize("k", [0, -1, 2.0, True])
    def test_invalid_k_rejected(self, index, k):
        with pytest.raises(InvalidVectorsError, match="k must be a positive integer"):
            index.search(unit_vectors(1, seed=7), k=k)


class TestAddRemove:
    def test_count(self, index):
        assert index.count == 500

    def test_remove_then_search_matches_brute_force(self, index, data):
        ids, vectors = data
        removed_ids = ids[::3]
        assert index.remove(removed_ids) == len(removed_ids)
        assert index.count == 500 - len(removed_ids)

        keep = np.ones(len(ids), dtype=bool)
        keep[::3] = False
        queries = unit_vectors(15, seed=8)
        result = index.search(queries, k=10)
        expected_scores, expected_ids = brute_force(ids[keep], vectors[keep], queries, 10)
        np.testing.assert_array_equal(result.ids, expected_ids)
        np.testing.assert_allclose(result.scores, expected_scores, atol=1e-5)

    def test_remove_ignores_unknown_ids(self, index):
        assert index.remove(np.array([1000, 5, 999_999, 1000])) == 1
        assert index.count == 499

    def test_remove_from_empty(self):
        assert FlatIndex(DIMENSION).remove(np.array([1, 2])) == 0

    def test_duplicate_of_stored_id_rejected(self, index):
        with pytest.raises(DuplicateIdError, match=r"\[1003\]"):
            index.add(np.array([2000, 1003]), unit_vectors(2, seed=9))
        assert index.count == 500

    def test_duplicate_within_batch_rejected(self):
        flat = FlatIndex(DIMENSION)
        with pytest.raises(DuplicateIdError, match=r"\[4\]"):
            flat.add(np.array([4, 5, 4]), unit_vectors(3, seed=10))
        assert flat.count == 0

    def test_readd_after_remove(self, index):
        replacement = unit_vectors(1, seed=11)
        index.remove(np.array([1010]))
        index.add(np.array([1010]), replacement)
        result = index.search(replacement, k=1)
        assert result.ids[0, 0] == 1010
        assert index.count == 500

    def test_add_accepts_other_integer_dtypes(self):
        flat = FlatIndex(DIMENSION)
        flat.add(np.array([1, 2], dtype=np.int32), unit_vectors(2, seed=12))
        assert flat.search(unit_vectors(1, seed=13), k=2).ids.dtype == np.int64

    def test_training_hooks_are_noops(self):
        flat = FlatIndex(DIMENSION)
        assert flat.needs_training is False
        assert flat.is_trained is True
        flat.train(unit_vectors(10, seed=14))
        assert flat.count == 0


class TestValidation:
    def test_dimension_mismatch_names_both(self, index):
        with pytest.raises(DimensionMismatchError) as caught:
            index.add(np.array([1]), unit_vectors(1, seed=15, dimension=16))
        assert "16" in str(caught.value)
        assert "32" in str(caught.value)

    def test_query_dimension_mismatch(self, index):
        with pytest.raises(DimensionMismatchError, match="dimension 64 but the index has dimension 32"):
            index.search(unit_vectors(1, seed=16, dimension=64), k=1)

    @pytest.mark.parametrize(
        ("ids", "vectors", "expected"),
        [
            (np.array([1]), unit_vectors(1, seed=17).astype(np.float64), "must be float32"),
            (np.array([1]), unit_vectors(1, seed=17)[0], "must be 2-D"),
            (np.array([1]), unit_vectors(1, seed=17).tolist(), "must be a numpy array"),
            (np.array([1.0]), unit_vectors(1, seed=17), "integer array"),
            (np.array([[1]]), unit_vectors(1, seed=17), "ids must be 1-D"),
            (np.array([-1]), unit_vectors(1, seed=17), "-1 marks a missing result"),
            (np.array([1, 2]), unit_vectors(1, seed=17), "got 2 ids for 1 vectors"),
            (np.array([1]), np.full((1, DIMENSION), np.nan, dtype=np.float32), "NaN"),
        ],
    )
    def test_invalid_add_rejected(self, ids, vectors, expected):
        flat = FlatIndex(DIMENSION)
        with pytest.raises(InvalidVectorsError, match=expected):
            flat.add(ids, vectors)
        assert flat.count == 0

    @pytest.mark.parametrize("dimension", [0, -3, 2.5])
    def test_invalid_dimension_rejected(self, dimension):
        with pytest.raises(InvalidVectorsError, match="dimension must be a positive integer"):
            FlatIndex(dimension)


class TestSaveLoad:
    def test_round_trip(self, index, tmp_path):
        queries = unit_vectors(5, seed=18)
        before = index.search(queries, k=7)
        index.save(tmp_path / "flat")

        loaded = FlatIndex.load(tmp_path / "flat")
        after = loaded.search(queries, k=7)
        assert loaded.count == 500
        assert loaded.dimension == DIMENSION
        assert loaded.created_at == index.created_at
        np.testing.assert_array_equal(after.ids, before.ids)
        np.testing.assert_array_equal(after.scores, before.scores)

    def test_metadata_record(self, index, tmp_path):
        index.save(tmp_path)
        record = json.loads((tmp_path / METADATA_FILE).read_text())
        assert record["kind"] == "flat"
        assert record["parameters"] == {}
        assert record["dimension"] == DIMENSION
        assert record["count"] == 500
        assert record["metric"] == "inner_product"
        assert record["faiss_version"] == faiss.__version__
        assert record["created_at"] == index.created_at
        assert record["saved_at"] >= record["created_at"]

    def test_save_leaves_no_temp_files(self, index, tmp_path):
        index.save(tmp_path)
        index.remove(np.array([1000]))
        index.save(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["index.faiss", METADATA_FILE]
        assert FlatIndex.load(tmp_path).count == 499

    def test_missing_folder(self, tmp_path):
        with pytest.raises(IndexFileError, match="not found"):
            FlatIndex.load(tmp_path / "absent")

    def test_count_mismatch_detected(self, index, tmp_path):
        index.save(tmp_path)
        record = json.loads((tmp_path / METADATA_FILE).read_text())
        record["count"] = 7
        (tmp_path / METADATA_FILE).write_text(json.dumps(record))
        with pytest.raises(IndexFileError, match="contains 500 vectors but its metadata records 7"):
            FlatIndex.load(tmp_path)

    def test_corrupt_index_file(self, index, tmp_path):
        index.save(tmp_path)
        (tmp_path / "index.faiss").write_bytes(b"garbage")
        with pytest.raises(IndexFileError, match="cannot read faiss index"):
            FlatIndex.load(tmp_path)

    def test_corrupt_metadata(self, index, tmp_path):
        index.save(tmp_path)
        (tmp_path / METADATA_FILE).write_text("{not json")
        with pytest.raises(IndexFileError, match="invalid index metadata"):
            FlatIndex.load(tmp_path)

    def test_newer_format_rejected(self, index, tmp_path):
        index.save(tmp_path)
        record = json.loads((tmp_path / METADATA_FILE).read_text())
        record["format_version"] = 99
        (tmp_path / METADATA_FILE).write_text(json.dumps(record))
        with pytest.raises(IndexFileError, match="format version 99"):
            FlatIndex.load(tmp_path)

    def test_dimension_mismatch_with_file(self, index, tmp_path):
        index.save(tmp_path)
        record = json.loads((tmp_path / METADATA_FILE).read_text())
        record["dimension"] = 16
        (tmp_path / METADATA_FILE).write_text(json.dumps(record))
        with pytest.raises(IndexFileError, match="dimension 32, expected an IndexIDMap2 of dimension 16"):
            FlatIndex.load(tmp_path)

    def test_other_kind_rejected(self, index, tmp_path):
        index.save(tmp_path)
        record = json.loads((tmp_path / METADATA_FILE).read_text())
        record["kind"] = "hnsw"
        (tmp_path / METADATA_FILE).write_text(json.dumps(record))
        with pytest.raises(IndexFileError, match="contains a 'hnsw' index, not 'flat'"):
            FlatIndex.load(tmp_path)
