"""Loading GGUF files: header checks, metadata, tensor table and the errors for bad files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from gguf import GGMLQuantizationType

from app.llm import GGUFFormatError, load_llm
from tests.llm.tiny_gguf import TinyLlamaSpec, write_tiny_llama


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    return write_tiny_llama(tmp_path / "tiny.gguf")


def write_bytes(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    return path


def load_spec(tmp_path: Path, spec: TinyLlamaSpec):
    return load_llm(write_tiny_llama(tmp_path / "bad.gguf", spec))


def test_tiny_model_loads_hyperparameters(tiny_path):
    llm = load_llm(tiny_path)
    config = llm.config
    assert (config.dim, config.n_layers, config.n_heads, config.n_kv_heads) == (256, 2, 4, 2)
    assert (config.head_dim, config.ffn_dim, config.vocab_size) == (64, 256, 261)
    assert config.rope_base == 10000.0
    assert llm.max_context == config.context_length == 64
    assert llm.model.output.weight is not llm.model.tok_embeddings.weight  # the file has output.weight


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_llm(tmp_path / "absent.gguf")


@pytest.mark.parametrize("content", [b"", b"hello, this is a text file\n", b"GGU"], ids=["empty", "text", "short"])
def test_non_gguf_file_raises(tmp_path, content):
    path = write_bytes(tmp_path, content)
    with pytest.raises(GGUFFormatError, match="not a GGUF file"):
        load_llm(path)


def test_unsupported_version_raises(tmp_path):
    path = write_bytes(tmp_path, b"GGUF" + struct.pack("<I", 99) + bytes(64))
    with pytest.raises(GGUFFormatError, match="GGUF version 99 is not supported"):
        load_llm(path)


def test_big_endian_file_raises(tmp_path):
    path = write_bytes(tmp_path, b"GGUF" + struct.pack(">I", 3) + bytes(64))
    with pytest.raises(GGUFFormatError, match="big-endian"):
        load_llm(path)


def test_truncated_file_raises(tmp_path, tiny_path):
    path = write_bytes(tmp_path, tiny_path.read_bytes()[:-1000])
    with pytest.raises(GGUFFormatError, match="truncated or corrupt"):
        load_llm(path)


def test_other_architecture_raises(tmp_path):
    with pytest.raises(GGUFFormatError, match="general.architecture is 'gpt2'"):
        load_spec(tmp_path, TinyLlamaSpec(architecture="gpt2"))


@pytest.mark.parametrize(
    "key",
    ["llama.embedding_length", "llama.block_count", "llama.attention.layer_norm_rms_epsilon", "tokenizer.ggml.merges"],
)
def test_missing_key_is_named(tmp_path, key):
    with pytest.raises(GGUFFormatError, match=f"required metadata key '{key}' is missing"):
        load_spec(tmp_path, TinyLlamaSpec(skip_keys={key}))


def test_optional_keys_take_spec_defaults(tmp_path):
    spec = TinyLlamaSpec(n_kv_heads=4, skip_keys={"llama.attention.head_count_kv", "llama.rope.freq_base"})
    config = load_spec(tmp_path, spec).config
    assert config.n_kv_heads == config.n_heads == 4
    assert config.rope_base == 10000.0


def test_heads_not_divisible_raises(tmp_path):
    with pytest.raises(GGUFFormatError, match="head_count 4 is not a multiple of head_count_kv 3"):
        load_spec(tmp_path, TinyLlamaSpec(extra_keys={"llama.attention.head_count_kv": ("uint32", 3)}))


def test_rope_scaling_raises(tmp_path):
    spec = TinyLlamaSpec(extra_keys={"llama.rope.scaling.type": ("string", "yarn")})
    with pytest.raises(GGUFFormatError, match="rope.scaling.type is 'yarn'"):
        load_spec(tmp_path, spec)


def test_missing_tensor_is_named(tmp_path):
    with pytest.raises(GGUFFormatError, match="missing tensors: blk.1.ffn_up.weight"):
        load_spec(tmp_path, TinyLlamaSpec(skip_tensors={"blk.1.ffn_up.weight"}))


def test_unexpected_tensor_is_named(tmp_path):
    with pytest.raises(GGUFFormatError, match="unexpected tensors for a plain Llama model: rope_freqs.weight"):
        load_spec(tmp_path, TinyLlamaSpec(extra_tensors={"rope_freqs.weight": (32,)}))


def test_wrong_tensor_shape_is_named(tmp_path):
    spec = TinyLlamaSpec(tensor_shapes={"blk.0.ffn_up.weight": (128, 256)})
    with pytest.raises(GGUFFormatError, match=r"'blk.0.ffn_up.weight' has shape \(128, 256\), expected \(256, 256\)"):
        load_spec(tmp_path, spec)


def test_unsupported_tensor_type_is_named(tmp_path):
    spec = TinyLlamaSpec(tensor_types={"blk.0.ffn_gate.weight": GGMLQuantizationType.Q5_K})
    with pytest.raises(GGUFFormatError, match="'blk.0.ffn_gate.weight' has unsupported type Q5_K"):
        load_spec(tmp_path, spec)


def test_sentencepiece_tokenizer_raises(tmp_path):
    with pytest.raises(GGUFFormatError, match="unsupported tokenizer.ggml.model 'llama'"):
        load_spec(tmp_path, TinyLlamaSpec(tokenizer_model="llama"))


def test_unknown_pre_tokenizer_raises(tmp_path):
    with pytest.raises(GGUFFormatError, match="unsupported tokenizer.ggml.pre 'qwen2'"):
        load_spec(tmp_path, TinyLlamaSpec(tokenizer_pre="qwen2"))


@pytest.mark.parametrize("max_context", [0, 65])
def test_max_context_outside_model_range_raises(tiny_path, max_context):
    with pytest.raises(ValueError, match=r"max_context must be in 1..64"):
        load_llm(tiny_path, max_context=max_context)


def test_setup_caches_rejects_zero_length(tiny_path):
    model = load_llm(tiny_path, max_context=8).model
    with pytest.raises(ValueError, match=r"max_seq_length must be in 1..64"):
        model.setup_caches(0)
    assert model.max_seq_length == 8
