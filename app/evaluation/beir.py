"""Parse relevance judgements in the BEIR layout.

A BEIR folder contains ``queries.jsonl`` (one ``{"_id", "text"}`` object a line)
and ``qrels/<split>.tsv`` (tab-separated ``query-id``, ``corpus-id``,
``score``, usually with that header line). The parsers take the file content
as text or bytes, so the API can check an upload before storing it. Every
error names the file and the 1-based line number.
"""

import json
import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

QUERIES_FILENAME = "queries.jsonl"
QRELS_FOLDER = "qrels"
QRELS_HEADER = ("query-id", "corpus-id", "score")

_INTEGER = re.compile(r"[+-]?[0-9]+")


class InvalidJudgementsError(ValueError):
    """Raised when a queries or qrels file does not follow the BEIR layout."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: {reason}")


def parse_queries(data: str | bytes, *, source: str = QUERIES_FILENAME) -> dict[str, str]:
    """Parse BEIR queries JSONL into ``{query_id: text}``.

    Fields other than ``_id`` and ``text`` (for example ``metadata``) are
    ignored. An integer ``_id`` is read as its decimal string, because qrels
    ids are always text. Blank lines are skipped.

    Args:
        data: file content; bytes are decoded as UTF-8 (a BOM is allowed).
        source: file name used in error messages.

    Raises:
        InvalidJudgementsError: on invalid UTF-8 or JSON, a line that is not
            an object, a missing or empty ``_id`` or ``text``, a duplicate
            ``_id``, or a file without any query.
    """
    queries: dict[str, str] = {}
    first_line_of: dict[str, int] = {}
    for number, line in _numbered_lines(data, source):
        query_id, text = _parse_query_line(line, source, number)
        if query_id in queries:
            raise InvalidJudgementsError(
                source, number, f"duplicate query _id {query_id!r}, first seen on line {first_line_of[query_id]}"
            )
        queries[query_id] = text
        first_line_of[query_id] = number

    if not queries:
        raise InvalidJudgementsError(source, None, "file contains no query")
    return queries


def parse_qrels(data: str | bytes, *, source: str = "qrels.tsv") -> dict[str, dict[str, int]]:
    """Parse a BEIR qrels TSV into ``{query_id: {corpus_id: grade}}``.

    The first non-blank line may be the header ``query-id<TAB>corpus-id<TAB>score``
    (compared case-insensitively); files without it are accepted too. Grades
    are integers and may be zero or negative, as in TREC qrels, and the
    metrics count them as not relevant. Blank lines are skipped.

    Args:
        data: file content; bytes are decoded as UTF-8 (a BOM is allowed).
        source: file name used in error messages.

    Raises:
        InvalidJudgementsError: on invalid UTF-8, a line without exactly three
            tab-separated columns, an empty id, a non-integer score, a
            duplicate (query-id, corpus-id) pair, or a file without any
            judgement.
    """
    qrels: dict[str, dict[str, int]] = {}
    first_line_of: dict[tuple[str, str], int] = {}
    seen_content = False
    for number, line in _numbered_lines(data, source):
        columns = [column.strip() for column in line.split("\t")]
        is_first = not seen_content
        seen_content = True
        if is_first and tuple(column.lower() for column in columns) == QRELS_HEADER:
            continue

        query_id, corpus_id, grade = _parse_qrels_columns(columns, source, number)
        pair = (query_id, corpus_id)
        if pair in first_line_of:
            raise InvalidJudgementsError(
                source,
                number,
                f"duplicate judgement for query-id {query_id!r} and corpus-id {corpus_id!r}, "
                f"first seen on line {first_line_of[pair]}",
            )
        first_line_of[pair] = number
        qrels.setdefault(query_id, {})[corpus_id] = grade

    if not qrels:
        raise InvalidJudgementsError(source, None, "file contains no judgement")
    return qrels


def check_judged_queries_exist(
    queries: dict[str, str], qrels: dict[str, dict[str, int]], *, qrels_source: str = "qrels.tsv"
) -> None:
    """Raise if qrels judge a query id that the queries file lacks.

    Queries without judgements are allowed, because BEIR folders often ship
    one queries file for several qrels splits.

    Raises:
        InvalidJudgementsError: naming up to five unknown query ids.
    """
    unknown = sorted(query_id for query_id in qrels if query_id not in queries)
    if unknown:
        listed = ", ".join(repr(query_id) for query_id in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InvalidJudgementsError(
            qrels_source,
            None,
            f"{len(unknown)} query ids have judgements but no entry in the queries file: {listed}{more}",
        )


def read_queries(path: str | Path) -> dict[str, str]:
    """Read and parse a BEIR queries JSONL file; see `parse_queries`."""
    path = Path(path)
    return parse_queries(path.read_bytes(), source=path.name)


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read and parse a BEIR qrels TSV file; see `parse_qrels`."""
    path = Path(path)
    return parse_qrels(path.read_bytes(), source=f"{path.parent.name}/{path.name}")


def read_judgements(folder: str | Path, split: str = "test") -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """Read ``queries.jsonl`` and ``qrels/<split>.tsv`` from a BEIR folder.

    Returns:
        ``(queries, qrels)`` as returned by `parse_queries` and `parse_qrels`.

    Raises:
        FileNotFoundError: if either file is missing.
        InvalidJudgementsError: if a file is invalid or the qrels judge a query
            that the queries file lacks.
    """
    folder = Path(folder)
    queries = read_queries(folder / QUERIES_FILENAME)
    qrels_path = folder / QRELS_FOLDER / f"{split}.tsv"
    qrels = read_qrels(qrels_path)
    check_judged_queries_exist(queries, qrels, qrels_source=f"{QRELS_FOLDER}/{qrels_path.name}")
    logger.debug("read %d queries and %d judged queries from %s", len(queries), len(qrels), folder)
    return queries, qrels


def _numbered_lines(data: str | bytes, source: str):
    """Yield ``(1-based line number, line)`` for each non-blank line."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    # Split the bytes, not the decoded text, so that a decoding error can name its line.
    for index, raw in enumerate(data.split(b"\n")):
        number = index + 1
        encoding = "utf-8-sig" if index == 0 else "utf-8"
        try:
            line = raw.decode(encoding).rstrip("\r")
        except UnicodeDecodeError as e:
            raise InvalidJudgementsError(source, number, f"invalid UTF-8 at byte {e.start} of the line") from e
        if line.strip():
            yield number, line


def _parse_query_line(line: str, source: str, number: int) -> tuple[str, str]:
    """Return ``(_id, text)`` from one JSONL line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidJudgementsError(source, number, f"invalid JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(record, dict):
        raise InvalidJudgementsError(source, number, f"expected a JSON object, got {type(record).__name__}")

    if "_id" not in record:
        raise InvalidJudgementsError(source, number, "missing field '_id'")
    query_id = record["_id"]
    # bool is a subclass of int, and true/false are never meant as ids.
    if isinstance(query_id, int) and not isinstance(query_id, bool):
        query_id = str(query_id)
    if not isinstance(query_id, str) or not query_id.strip():
        raise InvalidJudgementsError(source, number, f"'_id' must be a non-empty string, got {query_id!r}")

    if "text" not in record:
        raise InvalidJudgementsError(source, number, f"missing field 'text' for query {query_id!r}")
    text = record["text"]
    if not isinstance(text, str) or not text.strip():
        raise InvalidJudgementsError(
            source, number, f"'text' of query {query_id!r} must be a non-empty string, got {text!r}"
        )
    return query_id.strip(), text


def _parse_qrels_columns(columns: list[str], source: str, number: int) -> tuple[str, str, int]:
    """Return ``(query_id, corpus_id, grade)`` from the columns of one qrels line."""
    if len(columns) != 3:
        raise InvalidJudgementsError(
            source,
            number,
            f"expected 3 tab-separated columns (query-id, corpus-id, score), found {len(columns)}",
        )
    query_id, corpus_id, score = columns
    if not query_id:
        raise InvalidJudgementsError(source, number, "empty query-id")
    if not corpus_id:
        raise InvalidJudgementsError(source, number, "empty corpus-id")
    # A pattern, because int() also takes "1_0" and non-ASCII digits.
    if not _INTEGER.fullmatch(score):
        raise InvalidJudgementsError(source, number, f"score {score!r} is not an integer")
    return query_id, corpus_id, int(score)
