"""Tests for Embedder against sentence-transformers itself."""

from __future__ import annotations

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from app.model_files import default_embedder_path
from indexing.embedding import Embedder, EmbedderLoadError

TEXTS = [
    "Lift on a swept wing at low speed.",
    "The boundary layer separates near the trailing edge when the pressure gradient is adverse.",
    "Heat transfer",
    "",
    "A longer sentence about shock waves ahead of blunt bodies in supersonic flow, "
    "measured in a wind tunnel at several Mach numbers.",
]


def test_properties(embedder):
    assert embedder.dimension == 384
    assert embedder.max_window == 254  # max_seq_length 256 minus [CLS] and [SEP]
    assert embedder.model_name == "all-MiniLM-L6-v2"
    assert embedder.tokenizer("a b")["input_ids"][0] == embedder.tokenizer.cls_token_id


def test_vectors_unit_norm_float32(embedder):
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_matches_sentence_transformers(embedder):
    reference_model = SentenceTransformer(str(default_embedder_path()), device="cpu")
    expected = reference_model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(embedder.embed(TEXTS, batch_size=2), expected, atol=1e-5)


def test_same_text_embeds_identically(embedder):
    first = embedder.embed(["Panel flutter above a critical dynamic pressure."])
    second = embedder.embed(["Panel flutter above a critical dynamic pressure."])
    np.testing.assert_array_equal(first, second)


def test_batch_size_does_not_change_vectors(embedder):
    one_by_one = embedder.embed(TEXTS, batch_size=1)
    all_at_once = embedder.embed(TEXTS, batch_size=len(TEXTS))
    np.testing.assert_allclose(one_by_one, all_at_once, atol=1e-5)


def test_paraphrase_scores_higher(embedder):
    query, paraphrase, unrelated = embedder.embed(
        [
            "How does air flow separate from a wing?",
            "What causes flow separation on an airfoil?",
            "The recipe needs two cups of flour and an egg.",
        ]
    )
    assert query @ paraphrase > query @ unrelated + 0.3


def test_progress_reports_running_total(embedder):
    reported = []
    embedder.embed(TEXTS, batch_size=2, progress=reported.append)
    assert reported == [2, 4, 5]


def test_empty_input(embedder):
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_embed_query(embedder):
    vector = embedder.embed_query("flutter of thin panels")
    assert vector.shape == (384,)
    np.testing.assert_array_equal(vector, embedder.embed(["flutter of thin panels"])[0])


def test_single_string_rejected(embedder):
    with pytest.raises(TypeError, match="wrap a single text in a list"):
        embedder.embed("not a list")


def test_non_string_item_rejected(embedder):
    with pytest.raises(TypeError, match="sequence of str"):
        embedder.embed(["fine", 3])


@pytest.mark.parametrize("batch_size", [0, -2, 1.5, True])
def test_invalid_batch_size_rejected(embedder, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        embedder.embed(["text"], batch_size=batch_size)


def test_missing_model_folder(tmp_path):
    with pytest.raises(EmbedderLoadError, match="no modules.json"):
        Embedder(tmp_path / "nowhere")
