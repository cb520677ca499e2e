"""Open a GGUF weight file and read a Llama model's hyperparameters from it.

Every hyperparameter comes from the file's own metadata, never from its name.
The header is checked before anything else is parsed, so a wrong or damaged file
fails with one `GGUFFormatError` that names the problem.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from app.llm import quants
from app.llm.errors import GGUFFormatError

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
ARCHITECTURE = "llama"

_MISSING = object()


@dataclass(frozen=True)
class LlamaConfig:
    """Hyperparameters of a Llama decoder, as stored in a GGUF file's metadata."""

    vocab_size: int
    dim: int  # hidden size (llama.embedding_length)
    n_layers: int
    n_heads: int  # query heads
    n_kv_heads: int  # key/value heads; n_heads is a multiple of it (grouped-query attention)
    head_dim: int
    ffn_dim: int  # hidden size of the SwiGLU MLP (llama.feed_forward_length)
    norm_eps: float
    rope_base: float
    context_length: int  # positions the model was trained for
    bos_token_id: int | None
    eos_token_id: int
    chat_template: str | None


def open_gguf(path: str | Path) -> gguf.GGUFReader:
    """Check a file's GGUF header and architecture, then open it with gguf.GGUFReader.

    Raises:
        FileNotFoundError: the path does not exist.
        GGUFFormatError: the file is not GGUF, has an unsupported version or byte
            order, cannot be parsed, or is not a Llama model.
    """
    path = Path(path)
    _check_header(path)
    try:
        reader = gguf.GGUFReader(path)
    except (ValueError, IndexError, KeyError, OSError) as error:
        raise GGUFFormatError(
            f"{path}: failed to parse the GGUF file ({error}); the file is truncated or corrupt"
        ) from error

    architecture = read_field(reader, "general.architecture")
    if architecture != ARCHITECTURE:
        raise GGUFFormatError(
            f"{path}: general.architecture is {architecture!r}, but only {ARCHITECTURE!r} models are supported"
        )
    return reader


def _check_header(path: Path) -> None:
    with path.open("rb") as file:
        header = file.read(8)
    if len(header) < 8 or header[:4] != GGUF_MAGIC:
        raise GGUFFormatError(
            f"{path}: not a GGUF file (the first 4 bytes are {header[:4]!r}, expected {GGUF_MAGIC!r})"
        )

    (version,) = struct.unpack("<I", header[4:8])
    if version in SUPPORTED_VERSIONS:
        return
    (swapped_version,) = struct.unpack(">I", header[4:8])
    if swapped_version in SUPPORTED_VERSIONS:
        raise GGUFFormatError(f"{path}: big-endian GGUF files are not supported; convert the model as little-endian")
    raise GGUFFormatError(f"{path}: GGUF version {version} is not supported; supported versions: {SUPPORTED_VERSIONS}")


def read_field(reader: gguf.GGUFReader, key: str, default: Any = _MISSING) -> Any:
    """Return a metadata value (a scalar, a string or a list), or `default` if the key is absent.

    Raises:
        GGUFFormatError: the key is absent and no default was given.
    """
    field = reader.fields.get(key)
    if field is None:
        if default is _MISSING:
            raise GGUFFormatError(f"{reader.data.filename}: required metadata key {key!r} is missing")
        return default
    return field.contents()


def read_llama_config(reader: gguf.GGUFReader) -> LlamaConfig:
    """Read and validate a Llama model's hyperparameters from the file's metadata.

    Keys the GGUF specification marks as optional fall back to its defaults:
    head_count_kv to head_count, rope.freq_base to 10000, key_length to
    embedding_length / head_count, vocab_size to the number of tokens.

    Raises:
        GGUFFormatError: a required key is missing, a value is inconsistent, or
            the model uses a feature this runtime does not implement.
    """
    prefix = ARCHITECTURE
    dim = int(read_field(reader, f"{prefix}.embedding_length"))
    n_heads = int(read_field(reader, f"{prefix}.attention.head_count"))
    n_kv_heads = int(read_field(reader, f"{prefix}.attention.head_count_kv", n_heads))
    head_dim = int(read_field(reader, f"{prefix}.attention.key_length", dim // n_heads if n_heads else 0))
    rope_base = float(read_field(reader, f"{prefix}.rope.freq_base", 10000.0))
    vocab_size = read_field(reader, f"{prefix}.vocab_size", None)
    if vocab_size is None:
        vocab_size = len(read_field(reader, "tokenizer.ggml.tokens"))

    config = LlamaConfig(
        vocab_size=int(vocab_size),
        dim=dim,
        n_layers=int(read_field(reader, f"{prefix}.block_count")),
        n_heads=n_heads,
        n_kv_heads=n_kv_heads,
        head_dim=head_dim,
        ffn_dim=int(read_field(reader, f"{prefix}.feed_forward_length")),
        norm_eps=float(read_field(reader, f"{prefix}.attention.layer_norm_rms_epsilon")),
        rope_base=rope_base,
        context_length=int(read_field(reader, f"{prefix}.context_length")),
        bos_token_id=_optional_int(read_field(reader, "tokenizer.ggml.bos_token_id", None)),
        eos_token_id=int(read_field(reader, "tokenizer.ggml.eos_token_id")),
        chat_template=read_field(reader, "tokenizer.chat_template", None),
    )
    _check_config(reader, config)
    return config


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _check_config(reader: gguf.GGUFReader, config: LlamaConfig) -> None:
    """Reject hyperparameters that are inconsistent or need features not implemented here."""
    name = reader.data.filename
    for field in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "head_dim", "ffn_dim", "context_length"):
        if getattr(config, field) <= 0:
            raise GGUFFormatError(f"{name}: {field} must be positive, got {getattr(config, field)}")
    if config.n_heads % config.n_kv_heads != 0:
        raise GGUFFormatError(
            f"{name}: head_count {config.n_heads} is not a multiple of head_count_kv {config.n_kv_heads}"
        )
    if config.head_dim % 2 != 0:
        raise GGUFFormatError(f"{name}: head dimension {config.head_dim} must be even for rotary embeddings")

    value_dim = int(read_field(reader, f"{ARCHITECTURE}.attention.value_length", config.head_dim))
    rope_dim = int(read_field(reader, f"{ARCHITECTURE}.rope.dimension_count", config.head_dim))
    scaling = read_field(reader, f"{ARCHITECTURE}.rope.scaling.type", "none")
    experts = int(read_field(reader, f"{ARCHITECTURE}.expert_count", 0))
    unsupported = {
        f"attention.value_length {value_dim} differs from key_length {config.head_dim}": value_dim != config.head_dim,
        f"rope.dimension_count {rope_dim} differs from head dimension {config.head_dim}": rope_dim != config.head_dim,
        f"rope.scaling.type is {scaling!r}": scaling != "none",
        f"expert_count is {experts} (mixture of experts)": experts > 0,
    }
    for problem, present in unsupported.items():
        if present:
            raise GGUFFormatError(f"{name}: unsupported model: {problem}")


def read_tensor(reader: gguf.GGUFReader, tensor: gguf.ReaderTensor) -> np.ndarray:
    """Dequantize one tensor into a new float32 array in numpy (row-major) dimension order."""
    if tensor.tensor_type not in quants.SUPPORTED_TYPES:
        raise GGUFFormatError(
            f"{reader.data.filename}: tensor {tensor.name!r} has unsupported type {tensor.tensor_type.name}; "
            f"supported types: {', '.join(sorted(t.name for t in quants.SUPPORTED_TYPES))}"
        )
    # tensor.shape is in GGUF order (ne[0] = row length first); dequantize reverses it.
    return quants.dequantize(tensor.data, tensor.tensor_type, tensor.shape)
