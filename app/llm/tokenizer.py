"""Byte-level BPE tokenizer and chat template built from a GGUF file's metadata.

The `tokenizers` library runs the BPE merges. This module chooses the
pre-tokenizer that matches `tokenizer.ggml.pre`, marks the control tokens so they
are matched whole in text, and renders the file's Jinja chat template.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import gguf
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers
from tokenizers import Tokenizer as BPETokenizer

from app.llm.errors import ChatTemplateError, GGUFFormatError
from app.llm.gguf_file import read_field

logger = logging.getLogger(__name__)

CONTROL = int(gguf.TokenType.CONTROL)
USER_DEFINED = int(gguf.TokenType.USER_DEFINED)

# Control tokens that end an assistant turn in common chat formats (ChatML,
# Llama 3, Phi-3, Gemma) or end a document. Generation stops on each of them
# that the vocabulary has, and on the file's eos and eot ids.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")

# Llama 3's split pattern: contractions, letter runs with one leading non-letter,
# numbers of up to 3 digits, punctuation runs, newline runs, other whitespace.
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# tokenizer.ggml.pre values grouped by the pre-tokenizer llama.cpp applies to them
# (llama-vocab.cpp). The StarCoder family, SmolLM's included, first splits every
# digit on its own and then applies the GPT-2 pattern.
_GPT2_PRE = frozenset({"gpt2", "mpt", "olmo", "jais", "default"})
_DIGITS_THEN_GPT2_PRE = frozenset({"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"})
_LLAMA3_PRE = frozenset({"llama-bpe", "llama3", "llama-v3", "falcon3", "smaug-bpe", "dbrx"})


def build_pre_tokenizer(pre_type: str) -> pre_tokenizers.PreTokenizer:
    """Return the pre-tokenizer for a `tokenizer.ggml.pre` value.

    Raises:
        GGUFFormatError: the value is not one this module implements.
    """
    if pre_type in _GPT2_PRE:
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre_type in _DIGITS_THEN_GPT2_PRE:
        # NOTE: transformers (5.x) builds a plain GPT-2 pre-tokenizer for 'smollm'
        # GGUF files, so it splits "  1" as "Ġ", "Ġ1"->"Ġ","1" where llama.cpp and
        # this module give "ĠĠ", "1". Only whitespace runs right before a digit differ.
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    if pre_type in _LLAMA3_PRE:
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_LLAMA3_SPLIT), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    known = sorted(_GPT2_PRE | _DIGITS_THEN_GPT2_PRE | _LLAMA3_PRE)
    raise GGUFFormatError(f"unsupported tokenizer.ggml.pre {pre_type!r}; supported values: {', '.join(known)}")


class Tokenizer:
    """Byte-level BPE tokenizer ('gpt2' in GGUF terms) with the model's chat template."""

    def __init__(
        self,
        *,
        tokens: Sequence[str],
        token_types: Sequence[int],
        merges: Sequence[str],
        pre_type: str,
        eos_token_id: int,
        bos_token_id: int | None = None,
        eot_token_id: int | None = None,
        add_bos_token: bool = False,
        chat_template: str | None = None,
    ) -> None:
        """Build the BPE model, register special tokens and compile the chat template.

        Args:
            tokens: token strings in id order, spelled in the byte-level alphabet.
            token_types: one `gguf.TokenType` value per token.
            merges: BPE merges, best first, each "left right".
            pre_type: the `tokenizer.ggml.pre` value that selects the pre-tokenizer.
            eos_token_id, bos_token_id, eot_token_id: ids from the file's metadata.
            add_bos_token: whether plain-text prompts start with BOS.
            chat_template: Jinja source of the chat template, if the file has one.
        """
        if len(token_types) != len(tokens):
            raise GGUFFormatError(f"{len(tokens)} tokens but {len(token_types)} token types")
        for name, token_id in (("eos", eos_token_id), ("bos", bos_token_id), ("eot", eot_token_id)):
            if token_id is not None and not 0 <= token_id < len(tokens):
                raise GGUFFormatError(f"{name} token id {token_id} is outside the vocabulary of {len(tokens)} tokens")

        self.tokens = list(tokens)
        self.eos_token_id = eos_token_id
        self.bos_token_id = bos_token_id
        self.add_bos_token = add_bos_token
        self._bpe = _build_bpe(self.tokens, token_types, merges, pre_type)
        self.stop_token_ids = _stop_token_ids(self.tokens, token_types, eos_token_id, eot_token_id)
        self._template = _compile_chat_template(chat_template)

    @classmethod
    def from_gguf(cls, reader: gguf.GGUFReader) -> Tokenizer:
        """Build the tokenizer from a GGUF file's `tokenizer.*` metadata.

        Raises:
            GGUFFormatError: a required key is missing or the tokenizer model is not 'gpt2'.
        """
        model = read_field(reader, "tokenizer.ggml.model")
        if model != "gpt2":
            # NOTE: SentencePiece ('llama') vocabularies, as in Llama 1/2 files, are not implemented.
            raise GGUFFormatError(
                f"unsupported tokenizer.ggml.model {model!r}; only byte-level BPE ('gpt2') is implemented"
            )
        bos = read_field(reader, "tokenizer.ggml.bos_token_id", None)
        eot = read_field(reader, "tokenizer.ggml.eot_token_id", None)
        return cls(
            tokens=read_field(reader, "tokenizer.ggml.tokens"),
            token_types=read_field(reader, "tokenizer.ggml.token_type"),
            merges=read_field(reader, "tokenizer.ggml.merges"),
            pre_type=read_field(reader, "tokenizer.ggml.pre", "default"),
            eos_token_id=int(read_field(reader, "tokenizer.ggml.eos_token_id")),
            bos_token_id=None if bos is None else int(bos),
            eot_token_id=None if eot is None else int(eot),
            add_bos_token=bool(read_field(reader, "tokenizer.ggml.add_bos_token", False)),
            chat_template=read_field(reader, "tokenizer.chat_template", None),
        )

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        """Encode text into token ids; control tokens written in the text become their ids.

        Args:
            text: the text to encode.
            add_bos: prepend the BOS token (raises ValueError if the file defines none).
        """
        ids = self._bpe.encode(text, add_special_tokens=False).ids
        if add_bos:
            if self.bos_token_id is None:
                raise ValueError("add_bos=True, but the model file defines no BOS token")
            ids = [self.bos_token_id, *ids]
        return ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """Decode token ids into text; bytes that do not form valid UTF-8 become U+FFFD."""
        for token_id in ids:
            if not 0 <= token_id < len(self.tokens):
                raise ValueError(f"token id {token_id} is outside the vocabulary of {len(self.tokens)} tokens")
        return self._bpe.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        """Render messages with the model's chat template, ending with the assistant prompt.

        Args:
            messages: dicts with string 'role' and 'content', in conversation order.

        Raises:
            ChatTemplateError: the file has no template, a message is malformed, or
                the template raised an error while rendering.
        """
        if self._template is None:
            raise ChatTemplateError(
                "the model file has no tokenizer.chat_template; pass token ids or plain text instead"
            )
        _check_messages(messages)
        try:
            return self._template.render(
                messages=[dict(message) for message in messages],
                add_generation_prompt=True,
                bos_token=self._token_text(self.bos_token_id),
                eos_token=self._token_text(self.eos_token_id),
            )
        except jinja2.TemplateError as error:
            raise ChatTemplateError(f"rendering the chat template failed: {error}") from error

    def _token_text(self, token_id: int | None) -> str:
        return "" if token_id is None else self.tokens[token_id]


def _build_bpe(tokens: list[str], token_types: Sequence[int], merges: Sequence[str], pre_type: str) -> BPETokenizer:
    vocab = {token: index for index, token in enumerate(tokens)}
    merge_pairs = []
    for merge in merges:
        left, _, right = merge.partition(" ")
        merge_pairs.append((left, right))

    bpe = BPETokenizer(models.BPE(vocab=vocab, merges=merge_pairs))
    bpe.pre_tokenizer = build_pre_tokenizer(pre_type)
    bpe.decoder = decoders.ByteLevel()

    # Control tokens (<|im_start|> ...) and user-defined tokens are matched whole
    # in the input text before BPE runs; both already have ids in the vocabulary.
    special = [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, token_types) if k == CONTROL]
    added = [AddedToken(t, special=False, normalized=False) for t, k in zip(tokens, token_types) if k == USER_DEFINED]
    bpe.add_special_tokens(special)
    bpe.add_tokens(added)
    if bpe.get_vocab_size(with_added_tokens=True) != len(tokens):
        raise GGUFFormatError(f"the vocabulary has duplicate tokens: {len(tokens)} tokens map to {len(vocab)} entries")
    return bpe


def _stop_token_ids(tokens: list[str], token_types: Sequence[int], eos: int, eot: int | None) -> frozenset[int]:
    ids = {eos}
    if eot is not None:
        ids.add(eot)
    for index, (token, token_type) in enumerate(zip(tokens, token_types)):
        if token_type == CONTROL and token in END_OF_TURN_TOKENS:
            ids.add(index)
    return frozenset(ids)


def _raise_exception(message: str) -> None:
    raise ChatTemplateError(f"the chat template rejected the messages: {message}")


def _compile_chat_template(source: str | None) -> jinja2.Template | None:
    """Compile the template the way Hugging Face chat templates expect to be rendered."""
    if source is None:
        return None
    # Chat templates are written for trim_blocks/lstrip_blocks and may call
    # raise_exception(); the sandbox keeps a template from touching Python objects.
    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    environment.globals["raise_exception"] = _raise_exception
    try:
        return environment.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise ChatTemplateError(f"the model's chat template is invalid Jinja: {error}") from error


def _check_messages(messages: Sequence[Any]) -> None:
    if not messages:
        raise ChatTemplateError("messages is empty; pass at least one {'role': ..., 'content': ...} dict")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ChatTemplateError(f"messages[{index}] is a {type(message).__name__}, expected a dict")
        for key in ("role", "content"):
            if not isinstance(message.get(key), str):
                raise ChatTemplateError(f"messages[{index}][{key!r}] must be a string, got {message.get(key)!r}")
