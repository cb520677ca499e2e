"""Turn uploaded files into plain-text documents, one parser per file type.

`parse_upload` picks the parser from the file extension. Every failure is a
`ParseError` subclass, so the API can map each kind to one HTTP status.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Callable

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.dammit import EncodingDetector
from bs4.element import PreformattedString
from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")


class ParseError(Exception):
    """An uploaded file could not be turned into documents.

    `line` is the 1-based line at fault in a line-based file (JSONL), else None.
    """

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class UnsupportedFileTypeError(ParseError):
    """The file extension has no parser."""

    def __init__(self, filename: str, extension: str) -> None:
        self.filename = filename
        self.extension = extension
        extension_label = extension or "no extension"
        super().__init__(
            f"unsupported file type {extension_label!r} for {filename!r}; "
            f"supported extensions: {', '.join(SUPPORTED_EXTENSIONS)}"
        )


class EmptyDocumentError(ParseError):
    """The file, or one JSONL record, has no extractable text."""


class MalformedFileError(ParseError):
    """The file is damaged or breaks its format's rules."""


class EncryptedPdfError(MalformedFileError):
    """The PDF needs a password to read its text."""


@dataclass(frozen=True)
class ParsedDocument:
    """One document extracted from an upload.

    `external_id` is the JSONL `_id`, or the filename for single-document
    files. `prepend_title` is False where the title is already part of `text`
    (Markdown heading, HTML <title>) or is unreliable (PDF metadata).
    """

    external_id: str
    title: str | None
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    prepend_title: bool = True

    @property
    def content(self) -> str:
        """Text to chunk and embed: `title + " " + text` when the title is separate, else `text`.

        The BEIR convention of joining title and text with a space is kept even
        though Cranfield texts already start with their title. Measured with
        all-MiniLM-L6-v2 and exact cosine search over whole documents, Cranfield
        nDCG@10 (pytrec_eval, 225 queries) is 0.3817 for title + " " + text,
        the published figure, and 0.3736 for text alone.
        """
        if not self.prepend_title or not self.title:
            return self.text
        if not self.text:
            return self.title
        return f"{self.title} {self.text}"


@dataclass(frozen=True)
class ParsedFile:
    """The documents of one uploaded file, and the JSONL lines skipped as empty."""

    documents: list[ParsedDocument]
    skipped_lines: list[int] = field(default_factory=list)


def parse_file(filename: str, data: bytes, *, skip_empty: bool = False) -> ParsedFile:
    """Parse an uploaded file into documents, choosing the parser by extension.

    With skip_empty, JSONL records whose title and text are both empty are
    skipped and their line numbers returned, instead of failing the file.
    Cranfield needs this: its records 471 and 995 are empty.

    Raises:
        UnsupportedFileTypeError: the extension is not in SUPPORTED_EXTENSIONS.
        EmptyDocumentError: no text could be extracted.
        MalformedFileError: the file is damaged or invalid for its format.
    """
    extension = PurePath(filename).suffix.lower()
    parser = _PARSERS.get(extension)
    if parser is None:
        raise UnsupportedFileTypeError(filename, extension)
    if parser is _parse_beir_jsonl:
        parsed = _read_beir_jsonl(filename, data, skip_empty=skip_empty)
    else:
        parsed = ParsedFile(parser(filename, data))
    logger.debug("parsed %s into %d document(s)", filename, len(parsed.documents))
    return parsed


def parse_upload(filename: str, data: bytes, *, skip_empty: bool = False) -> list[ParsedDocument]:
    """Parse an uploaded file into documents; see `parse_file`."""
    return parse_file(filename, data, skip_empty=skip_empty).documents


# ---------------------------------------------------------------- text helpers


def _decode_utf8(filename: str, data: bytes) -> str:
    """Decode UTF-8 (a leading BOM is dropped) and normalise line endings to '\\n'."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise MalformedFileError(
            f"{filename!r} is not valid UTF-8: invalid byte at offset {error.start} "
            f"(line {line}); save the file as UTF-8 and upload it again"
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _require_text(filename: str, text: str) -> None:
    if not text.strip():
        raise EmptyDocumentError(f"{filename!r} contains no extractable text")


# ------------------------------------------------------------- plain text, Markdown


def _parse_text(filename: str, data: bytes) -> list[ParsedDocument]:
    text = _decode_utf8(filename, data)
    _require_text(filename, text)
    return [ParsedDocument(filename, None, text, {"format": "text"}, prepend_title=False)]


_ATX_H1 = re.compile(r"^ {0,3}# +(.+?)(?: +#+)? *$")
_CODE_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _markdown_title(text: str) -> str | None:
    """Return the first level-1 ATX heading (`# Title`) outside fenced code blocks."""
    fence: str | None = None
    for line in text.split("\n"):
        fence_match = _CODE_FENCE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
            continue
        if fence is None:
            heading = _ATX_H1.match(line)
            if heading:
                return heading.group(1).strip()
    return None


def _parse_markdown(filename: str, data: bytes) -> list[ParsedDocument]:
    text = _decode_utf8(filename, data)
    _require_text(filename, text)
    title = _markdown_title(text)
    return [ParsedDocument(filename, title, text, {"format": "markdown"}, prepend_title=False)]


# ---------------------------------------------------------------------- HTML


# Elements whose content is never shown as text. <head> is handled apart,
# because its <title> is kept.
_HIDDEN_TAGS = ("script", "style", "noscript", "template")

# Elements that end a paragraph (blank line) or a line.
_PARAGRAPH_TAGS = frozenset(
    "address article aside blockquote details dl fieldset figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr main nav ol p pre section table title ul".split()
)
_LINE_TAGS = frozenset(
    "br caption dd div dt figcaption legend li option summary td th tr".split()
)


class _Break(NavigableString):
    """A line or paragraph break inserted around block elements before text extraction."""


def _decode_html(filename: str, data: bytes) -> str:
    """Decode HTML as UTF-8, else as its declared charset, else as windows-1252.

    windows-1252 is the fallback that browsers use for unlabelled Western pages.
    Statistical charset guessing is avoided because it misreads short pages.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    if declared:
        try:
            text = data.decode(declared, errors="replace")
        except LookupError:
            logger.info("%s declares an unknown charset %r", filename, declared)
        else:
            logger.info("%s is not UTF-8; decoded it as its declared %s", filename, declared)
            return text
    logger.info("%s is not UTF-8 and declares no usable charset; decoded it as windows-1252", filename)
    return data.decode("windows-1252", errors="replace")


def _html_title(soup: BeautifulSoup) -> str | None:
    title = soup.find("title")
    if title is None:
        return None
    text = " ".join(title.get_text().split())
    return text or None


def _strip_hidden(soup: BeautifulSoup) -> None:
    """Remove elements that a browser does not render as text, keeping <title>."""
    for tag in soup.find_all(_HIDDEN_TAGS):
        tag.decompose()
    for head in soup.find_all("head"):
        for child in list(head.children):
            if isinstance(child, Tag) and child.name == "title":
                continue
            child.extract()


def _mark_blocks(soup: BeautifulSoup) -> None:
    """Surround block elements with break markers so their text starts on a new line."""
    for tag in soup.find_all(True):
        if tag.name in _PARAGRAPH_TAGS:
            marker = "\n\n"
        elif tag.name in _LINE_TAGS:
            marker = "\n"
        else:
            continue
        tag.insert_before(_Break(marker))
        tag.insert_after(_Break(marker))


def _visible_text(soup: BeautifulSoup) -> str:
    """Join the rendered text nodes, turning each run of break markers into its strongest break."""
    pieces: list[str] = []
    pending_break = ""
    for node in soup.descendants:
        if isinstance(node, _Break):
            pending_break = max(pending_break, str(node), key=len)
            continue
        # PreformattedString covers comments, doctypes, CDATA and processing instructions.
        if not isinstance(node, NavigableString) or isinstance(node, PreformattedString):
            continue
        in_pre = node.find_parent("pre") is not None
        text = str(node) if in_pre else re.sub(r"\s+", " ", str(node))
        if pending_break and not text.strip():
            continue
        pieces.append(pending_break)
        pieces.append(text)
        pending_break = ""
    text = "".join(pieces)

    # One space between words, no spaces at line ends, at most one blank line
    # in a row. NOTE: this also drops the indentation inside <pre> blocks.
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _parse_html(filename: str, data: bytes) -> list[ParsedDocument]:
    soup = BeautifulSoup(_decode_html(filename, data), "html.parser")
    title = _html_title(soup)
    _strip_hidden(soup)
    _mark_blocks(soup)
    text = _visible_text(soup)
    _require_text(filename, text)
    return [ParsedDocument(filename, title, text, {"format": "html"}, prepend_title=False)]


# ----------------------------------------------------------------------- PDF

# NOTE: pypdf raises assorted built-in exceptions on damaged files besides its
# own PyPdfError, so these are caught too and reported as a malformed file.
_PDF_FAILURES: tuple[type[BaseException], ...] = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    OSError,
    RecursionError,
    struct.error,
    zlib.error,
)


def _open_pdf(filename: str, data: bytes) -> PdfReader:
    """Open a PDF with pypdf, decrypting it when it has an empty user password."""
    try:
        reader = PdfReader(io.BytesIO(data))
        needs_password = reader.is_encrypted and not reader.decrypt("")
    except DependencyError as error:
        # pypdf decrypts AES only with the 'cryptography' package installed.
        raise EncryptedPdfError(
            f"{filename!r} is an encrypted PDF that could not be decrypted ({error}); "
            "upload an unencrypted copy"
        ) from error
    except (PyPdfError, *_PDF_FAILURES) as error:
        raise MalformedFileError(f"{filename!r} is not a readable PDF: {error}") from error
    if needs_password:
        raise EncryptedPdfError(f"{filename!r} is an encrypted PDF that needs a password; upload an unencrypted copy")
    return reader


def _pdf_title(reader: PdfReader) -> str | None:
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except (PyPdfError, *_PDF_FAILURES):
        return None
    if isinstance(title, str) and title.strip():
        return title.strip()
    return None


def _parse_pdf(filename: str, data: bytes) -> list[ParsedDocument]:
    reader = _open_pdf(filename, data)
    page_texts: list[str] = []
    try:
        for page in reader.pages:
            page_texts.append((page.extract_text() or "").strip())
    except (PyPdfError, *_PDF_FAILURES) as error:
        raise MalformedFileError(
            f"{filename!r}: text extraction failed on page {len(page_texts) + 1}: {error}"
        ) from error

    text = "\n\n".join(page_text for page_text in page_texts if page_text)
    if not text:
        raise EmptyDocumentError(
            f"{filename!r} contains no extractable text ({len(page_texts)} page(s)); "
            "a scanned or image-only PDF needs OCR before upload"
        )
    metadata = {"format": "pdf", "pages": len(page_texts)}
    return [ParsedDocument(filename, _pdf_title(reader), text, metadata, prepend_title=False)]


# -------------------------------------------------------------- BEIR corpus JSONL


def _beir_id(filename: str, line_number: int, value: Any) -> str:
    """Return a BEIR `_id` as a string, rejecting values that are not strings or numbers."""
    where = f"{filename!r} line {line_number}"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedFileError(
            f"{where}: '_id' must be a string or a number, got {type(value).__name__}"
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedFileError(f"{where}: '_id' must be finite, got {value}")
        value = int(value) if value.is_integer() else value
    external_id = str(value)
    if not external_id.strip():
        raise MalformedFileError(f"{where}: '_id' is empty")
    return external_id


def _optional_string(filename: str, line_number: int, record: dict, key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedFileError(
            f"{filename!r} line {line_number}: {key!r} must be a string, got {type(value).__name__}"
        )
    return value


def _beir_document(filename: str, line_number: int, line: str) -> ParsedDocument:
    where = f"{filename!r} line {line_number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise MalformedFileError(f"{where}: invalid JSON ({error.msg}, column {error.colno})") from error
    if not isinstance(record, dict):
        raise MalformedFileError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if "_id" not in record:
        raise MalformedFileError(f"{where}: missing '_id'")
    if "text" not in record:
        raise MalformedFileError(f"{where}: missing 'text'")

    external_id = _beir_id(filename, line_number, record["_id"])
    title = _optional_string(filename, line_number, record, "title").strip()
    text = _optional_string(filename, line_number, record, "text")
    if not title and not text.strip():
        raise EmptyDocumentError(f"{where}: document {external_id!r} has an empty title and text")

    # Keep BEIR's optional 'metadata' object and any extra keys with the document.
    metadata: dict[str, Any] = {"format": "beir-jsonl", "line": line_number}
    extra_metadata = record.get("metadata")
    if isinstance(extra_metadata, dict):
        metadata.update(extra_metadata)
    for key, value in record.items():
        if key not in ("_id", "title", "text", "metadata"):
            metadata[key] = value
    return ParsedDocument(external_id, title or None, text, metadata)


def _parse_beir_jsonl(filename: str, data: bytes) -> list[ParsedDocument]:
    return _read_beir_jsonl(filename, data).documents


def _read_beir_jsonl(filename: str, data: bytes, skip_empty: bool = False) -> ParsedFile:
    text = _decode_utf8(filename, data)
    documents: list[ParsedDocument] = []
    first_line: dict[str, int] = {}
    skipped_lines: list[int] = []

    # Split on '\n' only: str.splitlines would also split on U+2028 and other
    # separators that JSON allows unescaped inside strings.
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            document = _beir_document(filename, line_number, line)
        except EmptyDocumentError as error:
            if not skip_empty:
                error.line = line_number
                raise
            skipped_lines.append(line_number)
            continue
        except ParseError as error:
            error.line = line_number
            raise
        previous = first_line.setdefault(document.external_id, line_number)
        if previous != line_number:
            raise MalformedFileError(
                f"{filename!r} line {line_number}: duplicate '_id' {document.external_id!r}, "
                f"first seen on line {previous}",
                line=line_number,
            )
        documents.append(document)

    if skipped_lines:
        logger.warning(
            "%s: skipped %d record(s) with an empty title and text on line(s) %s",
            filename, len(skipped_lines), ", ".join(map(str, skipped_lines[:20])),
        )
    if not documents:
        reason = "only empty records" if skipped_lines else "only blank lines"
        raise EmptyDocumentError(f"{filename!r} contains no documents ({reason})")
    return ParsedFile(documents, skipped_lines)


_PARSERS: dict[str, Callable[[str, bytes], list[ParsedDocument]]] = {
    ".txt": _parse_text,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".pdf": _parse_pdf,
    ".jsonl": _parse_beir_jsonl,
}
