"""Tests for Chunker with the real all-MiniLM-L6-v2 tokenizer."""

from __future__ import annotations

import pytest

from indexing.chunking import MIN_CHUNK_TOKENS, Chunk, Chunker, InvalidChunkingError

SENTENCES = [
    "The boundary layer thickens as the flow moves along the plate.",
    "Heat transfer near the leading edge depends on the local Reynolds number.",
    "Swept wings delay the onset of compressibility effects at high subsonic speeds.",
    "Measurements were taken at twelve stations along the span of the model.",
    "A simple correction accounts for the blockage of the wind tunnel walls.",
    "The theory agrees with experiment when the angle of attack is small.",
    "Shock waves form ahead of blunt bodies in supersonic flow.",
    "Panel flutter was observed only above a critical dynamic pressure.",
]


def prose(paragraphs: int, sentences_per_paragraph: int = 5) -> str:
    """Build deterministic English prose with blank lines between paragraphs."""
    blocks = []
    for p in range(paragraphs):
        picked = [SENTENCES[(p * 3 + s) % len(SENTENCES)] for s in range(sentences_per_paragraph)]
        blocks.append(f"Paragraph {p}. " + " ".join(picked))
    return "\n\n".join(blocks)


@pytest.fixture(scope="module")
def count(tokenizer):
    """Count tokens as the embedder's tokenizer does, without special tokens."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def make_chunker(tokenizer, chunk_tokens=64, overlap_tokens=0, max_window=254) -> Chunker:
    return Chunker(tokenizer, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens, max_window=max_window)


def assert_valid_chunks(text: str, chunks: list[Chunk], max_tokens: int, count) -> None:
    """Check slices, order, indices, token counts and that every non-space character is covered."""
    covered = [False] * len(text)
    for position, chunk in enumerate(chunks):
        assert chunk.index == position
        assert chunk.text == text[chunk.start_char : chunk.end_char]
        assert chunk.text == chunk.text.strip()
        assert chunk.token_count == count(chunk.text)
        assert chunk.token_count <= max_tokens
        for i in range(chunk.start_char, chunk.end_char):
            covered[i] = True
    for earlier, later in zip(chunks, chunks[1:]):
        assert later.start_char > earlier.start_char
        assert later.end_char > earlier.end_char
    uncovered = [i for i, char in enumerate(text) if not covered[i] and not char.isspace()]
    assert uncovered == []


class TestSplitProse:
    def test_chunks_fit_and_cover(self, tokenizer, count):
        text = prose(12)
        chunks = make_chunker(tokenizer, chunk_tokens=64).split(text)
        assert len(chunks) > 5
        assert_valid_chunks(text, chunks, 64, count)

    def test_no_overlap_when_zero(self, tokenizer):
        chunks = make_chunker(tokenizer, chunk_tokens=48, overlap_tokens=0).split(prose(8))
        for earlier, later in zip(chunks, chunks[1:]):
            assert later.start_char >= earlier.end_char

    def test_overlap_about_requested(self, tokenizer, count):
        text = prose(12)
        chunks = make_chunker(tokenizer, chunk_tokens=64, overlap_tokens=16).split(text)
        assert_valid_chunks(text, chunks, 64, count)
        for earlier, later in zip(chunks, chunks[1:]):
            shared = count(text[later.start_char : earlier.end_char])
            # Cuts snap to the nearest space, so the overlap is off by at most a word.
            assert 12 <= shared <= 20, (earlier.index, shared)

    def test_cuts_on_word_boundaries(self, tokenizer):
        text = prose(10)
        chunks = make_chunker(tokenizer, chunk_tokens=40, overlap_tokens=10).split(text)
        for chunk in chunks:
            assert chunk.start_char == 0 or text[chunk.start_char - 1].isspace()
            assert chunk.end_char == len(text) or text[chunk.end_char].isspace()

    def test_prefers_paragraph_ends(self, tokenizer, count):
        # Paragraphs of about 45 tokens: two fit into a 100-token chunk.
        text = prose(8, sentences_per_paragraph=3)
        chunks = make_chunker(tokenizer, chunk_tokens=100).split(text)
        for chunk in chunks[:-1]:
            assert text[chunk.end_char : chunk.end_char + 2] == "\n\n"
            assert count(chunk.text) >= 70

    def test_prefers_sentence_ends(self, tokenizer):
        text = " ".join(SENTENCES * 4)
        chunks = make_chunker(tokenizer, chunk_tokens=50).split(text)
        for chunk in chunks:
            assert chunk.text.endswith(".")

    def test_short_text_single_chunk(self, tokenizer):
        chunks = make_chunker(tokenizer).split("\n  A short note.  \n")
        assert chunks == [Chunk("A short note.", 3, 16, 4, 0)]

    @pytest.mark.parametrize("text", ["", "   ", "\n\n\t "])
    def test_whitespace_only_gives_no_chunks(self, tokenizer, text):
        assert make_chunker(tokenizer).split(text) == []

    def test_full_window_fits_embedder(self, embedder, count):
        text = prose(40)
        chunker = make_chunker(embedder.tokenizer, chunk_tokens=embedder.max_window, overlap_tokens=32)
        chunks = chunker.split(text)
        assert_valid_chunks(text, chunks, embedder.max_window, count)
        for chunk in chunks:
            with_special = len(embedder.tokenizer(chunk.text)["input_ids"])
            assert with_special <= 256


class TestSplitHardText:
    def test_long_word_cut_inside(self, tokenizer, count):
        # One word of under 100 characters is split into many word pieces; longer
        # words become a single [UNK] token in this tokenizer.
        word = "pneumonoultramicroscopicsilicovolcanoconiosisantidisestablishmentarianism"
        chunks = make_chunker(tokenizer, chunk_tokens=16, overlap_tokens=4).split(word)
        assert count(word) > 16
        assert len(chunks) >= 2
        assert_valid_chunks(word, chunks, 16, count)

    def test_no_space_text_terminates(self, tokenizer, count):
        text = "/".join(f"segment{i}" for i in range(3000))  # 30k characters, no whitespace
        chunks = make_chunker(tokenizer, chunk_tokens=32, overlap_tokens=8).split(text)
        assert len(chunks) > 100
        assert_valid_chunks(text, chunks, 32, count)

    def test_giant_word_is_one_unknown_token(self, tokenizer, count):
        text = "x" * 20_000
        chunks = make_chunker(tokenizer, chunk_tokens=16).split(text)
        assert [(c.start_char, c.end_char, c.token_count) for c in chunks] == [(0, 20_000, 1)]

    def test_cjk_and_emoji(self, tokenizer, count):
        text = "今天天气很好。我们去公园散步吧！" * 40 + " 🚀✈️🛩️ " * 30 + "기상 관측 자료" * 20
        chunks = make_chunker(tokenizer, chunk_tokens=32, overlap_tokens=8).split(text)
        assert len(chunks) > 10
        assert_valid_chunks(text, chunks, 32, count)

    def test_cjk_cut_after_sentence_end(self, tokenizer):
        text = "今天天气很好。我们去公园散步吧！" * 40
        chunks = make_chunker(tokenizer, chunk_tokens=32).split(text)
        for chunk in chunks:
            assert chunk.text[-1] in "。！"

    def test_accented_text_offsets(self, tokenizer, count):
        # The tokenizer strips accents, which must not shift the character offsets.
        text = "Café crème brûlée à la française. " * 30
        chunks = make_chunker(tokenizer, chunk_tokens=24, overlap_tokens=6).split(text)
        assert_valid_chunks(text, chunks, 24, count)


class TestValidation:
    @pytest.mark.parametrize(
        ("chunk_tokens", "overlap_tokens", "max_window", "expected"),
        [
            (MIN_CHUNK_TOKENS - 1, 0, 254, "chunk_tokens is 15"),
            (255, 0, 254, "between 16 and 254"),
            (64, 64, 254, "overlap_tokens is 64; set it between 0 and 63"),
            (64, -1, 254, "overlap_tokens is -1"),
            (64.0, 0, 254, "chunk_tokens must be an integer"),
            (64, True, 254, "overlap_tokens must be an integer"),
            (16, 0, 8, "max_window is 8"),
        ],
    )
    def test_invalid_parameters_rejected(self, tokenizer, chunk_tokens, overlap_tokens, max_window, expected):
        with pytest.raises(InvalidChunkingError) as caught:
            Chunker(tokenizer, chunk_tokens, overlap_tokens, max_window)
        assert expected in str(caught.value)

    def test_error_is_value_error(self):
        assert issubclass(InvalidChunkingError, ValueError)

    def test_non_tokenizer_rejected(self):
        with pytest.raises(InvalidChunkingError, match="fast tokenizer"):
            Chunker("bert-base-uncased", 64, 0, 254)

    def test_boundary_values_accepted(self, tokenizer):
        assert make_chunker(tokenizer, chunk_tokens=16, overlap_tokens=15).chunk_tokens == 16
        assert make_chunker(tokenizer, chunk_tokens=254, overlap_tokens=0).chunk_tokens == 254


def test_shared_tokenizer_state_untouched(tokenizer):
    """Chunking uses a private copy, so the embedder's tokenizer keeps its truncation setting."""
    before = tokenizer.backend_tokenizer.truncation
    make_chunker(tokenizer).split(prose(30))
    assert tokenizer.backend_tokenizer.truncation == before
