"""Dequantize GGML tensor blocks into float32 numpy arrays.

Each block format stores a fixed number of elements in a fixed number of bytes:
float16 scales and packed integers, laid out as ggml writes them. The block
sizes are checked at import against `GGML_QUANT_SIZES` from the `gguf` package,
and tests/llm compares every decoder with `gguf.quants.dequantize`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from app.llm.errors import GGUFFormatError

logger = logging.getLogger(__name__)

QK = 32  # elements per block in the legacy formats (Q4_0 ... Q8_0)
QK_K = 256  # elements per super-block in the k-quant formats


def _f16(blocks: np.ndarray, start: int) -> np.ndarray:
    """Read one little-endian float16 per block at byte `start`, widened to float32."""
    raw = np.ascontiguousarray(blocks[:, start : start + 2])
    return raw.view("<f2").astype(np.float32)  # (n_blocks, 1)


def _low_high_nibbles(packed: np.ndarray) -> np.ndarray:
    """Unpack 16 bytes into 32 values: low nibbles are elements 0-15, high nibbles 16-31."""
    return np.concatenate([packed & 0x0F, packed >> 4], axis=1)  # (n_blocks, 32) uint8


def _fifth_bits(blocks: np.ndarray, start: int) -> np.ndarray:
    """Read the 32 high bits of a Q5 block (one uint32, bit j for element j) as 0 or 16."""
    qh = np.ascontiguousarray(blocks[:, start : start + 4]).view("<u4")  # (n_blocks, 1)
    bits = (qh >> np.arange(QK, dtype=np.uint32)) & 1  # (n_blocks, 32)
    return (bits << 4).astype(np.uint8)


def _q8_0(blocks: np.ndarray) -> np.ndarray:
    # 2-byte d, then 32 int8 values: x = d * q
    d = _f16(blocks, 0)
    q = np.ascontiguousarray(blocks[:, 2:]).view(np.int8).astype(np.float32)
    return d * q


def _q4_0(blocks: np.ndarray) -> np.ndarray:
    # 2-byte d, then 16 bytes of 4-bit values: x = d * (q - 8)
    d = _f16(blocks, 0)
    q = _low_high_nibbles(blocks[:, 2:]).astype(np.float32) - 8.0
    return d * q


def _q4_1(blocks: np.ndarray) -> np.ndarray:
    # 2-byte d, 2-byte m, then 16 bytes of 4-bit values: x = d * q + m
    d = _f16(blocks, 0)
    m = _f16(blocks, 2)
    q = _low_high_nibbles(blocks[:, 4:]).astype(np.float32)
    return d * q + m


def _q5_0(blocks: np.ndarray) -> np.ndarray:
    # 2-byte d, 4 bytes of fifth bits, 16 bytes of low nibbles: x = d * (q - 16)
    d = _f16(blocks, 0)
    q = _low_high_nibbles(blocks[:, 6:]) | _fifth_bits(blocks, 2)
    return d * (q.astype(np.float32) - 16.0)


def _q5_1(blocks: np.ndarray) -> np.ndarray:
    # 2-byte d, 2-byte m, 4 bytes of fifth bits, 16 bytes of low nibbles: x = d * q + m
    d = _f16(blocks, 0)
    m = _f16(blocks, 2)
    q = _low_high_nibbles(blocks[:, 8:]) | _fifth_bits(blocks, 4)
    return d * q.astype(np.float32) + m


def _q4_k_scales_and_mins(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unpack the 12 bytes of eight 6-bit scales and eight 6-bit mins of a Q4_K super-block."""
    scales = np.empty((packed.shape[0], 8), dtype=np.uint8)
    mins = np.empty((packed.shape[0], 8), dtype=np.uint8)
    # Sub-blocks 0-3 keep their 6 bits whole in bytes 0-3 (scale) and 4-7 (min).
    scales[:, :4] = packed[:, 0:4] & 0x3F
    mins[:, :4] = packed[:, 4:8] & 0x3F
    # Sub-blocks 4-7 take 4 low bits from bytes 8-11 and 2 high bits from the
    # top of bytes 0-3 (scale) or 4-7 (min).
    scales[:, 4:] = (packed[:, 8:12] & 0x0F) | ((packed[:, 0:4] >> 6) << 4)
    mins[:, 4:] = (packed[:, 8:12] >> 4) | ((packed[:, 4:8] >> 6) << 4)
    return scales.astype(np.float32), mins.astype(np.float32)


def _q4_k(blocks: np.ndarray) -> np.ndarray:
    # 2-byte d, 2-byte dmin, 12 bytes of scales/mins, 128 bytes of 4-bit values.
    # Sub-block s of 32 elements: x = (d * scale[s]) * q - dmin * min[s]
    d = _f16(blocks, 0)
    dmin = _f16(blocks, 2)
    scales, mins = _q4_k_scales_and_mins(blocks[:, 4:16])
    qs = blocks[:, 16:].reshape(-1, 4, 32)  # 4 chunks of 32 bytes, each holding 2 sub-blocks
    q = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
    x = (d * scales)[:, :, None] * q - (dmin * mins)[:, :, None]  # (n_blocks, 8, 32)
    return x.reshape(-1, QK_K)


def _q6_k(blocks: np.ndarray) -> np.ndarray:
    # 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 int8 scales, 2-byte d.
    # Sub-block s of 16 elements: x = (d * scale[s]) * (q - 32)
    ql = blocks[:, 0:128].reshape(-1, 2, 64)  # two halves of 128 elements
    qh = blocks[:, 128:192].reshape(-1, 2, 32)
    scales = np.ascontiguousarray(blocks[:, 192:208]).view(np.int8).astype(np.float32)
    d = _f16(blocks, 208)

    # Within a half, the four runs of 32 elements take their low bits from
    # ql[0:32] low, ql[32:64] low, ql[0:32] high, ql[32:64] high, and their
    # high bits from bit pairs 0-1, 2-3, 4-5, 6-7 of qh[0:32].
    low = np.stack(
        [ql[:, :, :32] & 0x0F, ql[:, :, 32:] & 0x0F, ql[:, :, :32] >> 4, ql[:, :, 32:] >> 4],
        axis=2,
    )  # (n_blocks, 2, 4, 32)
    shifts = np.array([0, 2, 4, 6], dtype=np.uint8)[None, None, :, None]
    high = (qh[:, :, None, :] >> shifts) & 0x03  # (n_blocks, 2, 4, 32)
    q = ((low | (high << 4)).astype(np.float32) - 32.0).reshape(-1, 16, 16)

    x = (d * scales)[:, :, None] * q  # (n_blocks, 16, 16)
    return x.reshape(-1, QK_K)


# type -> (elements per block, bytes per block, decoder of a (n_blocks, bytes) uint8 array)
_BLOCK_DECODERS: dict[GGMLQuantizationType, tuple[int, int, Callable[[np.ndarray], np.ndarray]]] = {
    GGMLQuantizationType.Q8_0: (QK, 34, _q8_0),
    GGMLQuantizationType.Q4_0: (QK, 18, _q4_0),
    GGMLQuantizationType.Q4_1: (QK, 20, _q4_1),
    GGMLQuantizationType.Q5_0: (QK, 22, _q5_0),
    GGMLQuantizationType.Q5_1: (QK, 24, _q5_1),
    GGMLQuantizationType.Q4_K: (QK_K, 144, _q4_k),
    GGMLQuantizationType.Q6_K: (QK_K, 210, _q6_k),
}

_FLOAT_TYPES = {
    GGMLQuantizationType.F32: "<f4",
    GGMLQuantizationType.F16: "<f2",
    GGMLQuantizationType.BF16: "<u2",  # widened below by a 16-bit shift
}

SUPPORTED_TYPES = frozenset(_BLOCK_DECODERS) | frozenset(_FLOAT_TYPES)

for _qtype, (_elements, _nbytes, _) in _BLOCK_DECODERS.items():
    if GGML_QUANT_SIZES[_qtype] != (_elements, _nbytes):
        raise ImportError(
            f"gguf's block size for {_qtype.name} is {GGML_QUANT_SIZES[_qtype]}, "
            f"but this module decodes ({_elements}, {_nbytes}); the gguf package is incompatible"
        )


def dequantize(raw: np.ndarray, qtype: GGMLQuantizationType, shape: Sequence[int]) -> np.ndarray:
    """Decode a tensor's raw bytes into a float32 array.

    Args:
        raw: the tensor's bytes as stored in the file (any dtype, any shape; it is
            reinterpreted as a flat uint8 buffer).
        qtype: the tensor's GGML type.
        shape: the tensor's dimensions in GGUF order, fastest-varying first (ne[0]
            is the row length), which is the reverse of numpy/PyTorch order.

    Returns:
        A new float32 array of numpy shape `tuple(reversed(shape))`.

    Raises:
        GGUFFormatError: the type is not supported, the row length is not a whole
            number of blocks, or the byte count does not match the shape.
    """
    ne = [int(n) for n in shape]
    numpy_shape = tuple(reversed(ne))
    n_elements = int(np.prod(ne, dtype=np.int64))
    data = np.ascontiguousarray(raw).view(np.uint8).reshape(-1)

    if qtype in _FLOAT_TYPES:
        dtype = np.dtype(_FLOAT_TYPES[qtype])
        _check_byte_count(data, n_elements * dtype.itemsize, qtype, ne)
        values = data.view(dtype)
        if qtype == GGMLQuantizationType.BF16:
            # bfloat16 is the top half of a float32
            values = (values.astype(np.uint32) << 16).view(np.float32)
        return values.astype(np.float32).reshape(numpy_shape)

    if qtype not in _BLOCK_DECODERS:
        supported = ", ".join(sorted(t.name for t in SUPPORTED_TYPES))
        raise GGUFFormatError(f"unsupported tensor type {_type_name(qtype)}; supported types: {supported}")

    block_elements, block_bytes, decode_blocks = _BLOCK_DECODERS[qtype]
    if ne[0] % block_elements != 0:
        raise GGUFFormatError(
            f"{qtype.name} tensor with shape {ne} has row length {ne[0]}, "
            f"which is not a multiple of the block size {block_elements}"
        )
    n_blocks = n_elements // block_elements
    _check_byte_count(data, n_blocks * block_bytes, qtype, ne)

    values = decode_blocks(data.reshape(n_blocks, block_bytes))  # (n_blocks, block_elements)
    return values.reshape(numpy_shape)


def _check_byte_count(data: np.ndarray, expected: int, qtype: GGMLQuantizationType, ne: list[int]) -> None:
    if data.size != expected:
        raise GGUFFormatError(
            f"{qtype.name} tensor with shape {ne} needs {expected} bytes, got {data.size}; "
            "the file is truncated or corrupt"
        )


def _type_name(qtype: int) -> str:
    try:
        return GGMLQuantizationType(qtype).name
    except ValueError:
        return f"<unknown type {qtype}>"
