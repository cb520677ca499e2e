"""Tests for the BEIR queries and qrels parsers."""

import re

import pytest

from app.evaluation.beir import (
    InvalidJudgementsError,
    check_judged_queries_exist,
    parse_qrels,
    parse_queries,
    read_judgements,
    read_qrels,
)


def test_queries_parsed_from_text():
    data = '{"_id": "1", "text": "first query"}\n\n{"_id": "2", "text": "second", "metadata": {}}\n'

    assert parse_queries(data) == {"1": "first query", "2": "second"}


def test_queries_parsed_from_bytes_with_bom_and_crlf():
    data = '\ufeff{"_id": "q1", "text": "wing flutter"}\r\n{"_id": "q2", "text": "μ of air"}\r\n'.encode()

    assert parse_queries(data) == {"q1": "wing flutter", "q2": "μ of air"}


def test_queries_integer_id_read_as_string():
    assert parse_queries('{"_id": 7, "text": "t"}') == {"7": "t"}


def test_qrels_with_header():
    data = "query-id\tcorpus-id\tscore\n1\t12\t2\n1\t13\t1\n2\t12\t4\n"

    assert parse_qrels(data) == {"1": {"12": 2, "13": 1}, "2": {"12": 4}}


def test_qrels_without_header_and_blank_lines():
    data = b"\n1\t12\t2\n\n1\t13\t0\r\n"

    assert parse_qrels(data) == {"1": {"12": 2, "13": 0}}


def test_qrels_negative_grade_kept():
    assert parse_qrels("q\td\t-1\n") == {"q": {"d": -1}}


QUERY_ERRORS = [
    ('{"_id": "1", "text": "a"}\n{"_id": "2", "text": "b"\n', 2, "invalid JSON"),
    ('{"_id": "1", "text": "a"}\n\n["1", "b"]\n', 3, "expected a JSON object, got list"),
    ('{"text": "a"}\n', 1, "missing field '_id'"),
    ('{"_id": "1", "text": "a"}\n{"_id": "2"}\n', 2, "missing field 'text' for query '2'"),
    ('{"_id": "", "text": "a"}\n', 1, "'_id' must be a non-empty string"),
    ('{"_id": null, "text": "a"}\n', 1, "'_id' must be a non-empty string, got None"),
    ('{"_id": "1", "text": "  "}\n', 1, "'text' of query '1' must be a non-empty string"),
    ('{"_id": "1", "text": 5}\n', 1, "'text' of query '1' must be a non-empty string, got 5"),
    ('{"_id": "1", "text": "a"}\n{"_id": "2", "text": "b"}\n{"_id": "1", "text": "c"}\n', 3,
     "duplicate query _id '1', first seen on line 1"),
]


@pytest.mark.parametrize(("data", "line", "reason"), QUERY_ERRORS)
def test_queries_error_names_line(data, line, reason):
    with pytest.raises(InvalidJudgementsError) as raised:
        parse_queries(data, source="queries.jsonl")

    assert raised.value.line == line
    assert str(raised.value).startswith(f"queries.jsonl, line {line}: ")
    assert reason in str(raised.value)


QRELS_ERRORS = [
    (
        "query-id\tcorpus-id\tscore\n1\t12\n",
        2,
        "expected 3 tab-separated columns (query-id, corpus-id, score), found 2",
    ),
    ("1 12 2\n", 1, "found 1"),
    ("1\t12\t2\t0\n", 1, "found 4"),
    ("1\t12\t2\n1\t13\thigh\n", 2, "score 'high' is not an integer"),
    ("1\t12\t2.0\n", 1, "score '2.0' is not an integer"),
    ("1\t12\t1_0\n", 1, "score '1_0' is not an integer"),
    ("\t12\t2\n", 1, "empty query-id"),
    ("1\t\t2\n", 1, "empty corpus-id"),
    (
        "1\t12\t2\n\n2\t12\t1\n1\t12\t3\n",
        4,
        "duplicate judgement for query-id '1' and corpus-id '12', first seen on line 1",
    ),
    # A header is accepted only as the first line.
    ("1\t12\t2\nquery-id\tcorpus-id\tscore\n", 2, "score 'score' is not an integer"),
]


@pytest.mark.parametrize(("data", "line", "reason"), QRELS_ERRORS)
def test_qrels_error_names_line(data, line, reason):
    with pytest.raises(InvalidJudgementsError) as raised:
        parse_qrels(data, source="qrels/test.tsv")

    assert raised.value.line == line
    assert str(raised.value).startswith(f"qrels/test.tsv, line {line}: ")
    assert reason in str(raised.value)


def test_invalid_utf8_names_line():
    data = b'{"_id": "1", "text": "a"}\n{"_id": "2", "text": "\xff"}\n'

    with pytest.raises(InvalidJudgementsError, match=re.escape("queries.jsonl, line 2: invalid UTF-8")):
        parse_queries(data)


@pytest.mark.parametrize("data", ["", "\n\n", "query-id\tcorpus-id\tscore\n"])
def test_qrels_without_judgement_rejected(data):
    with pytest.raises(InvalidJudgementsError, match="qrels.tsv: file contains no judgement"):
        parse_qrels(data)


def test_queries_without_query_rejected():
    with pytest.raises(InvalidJudgementsError, match="queries.jsonl: file contains no query"):
        parse_queries(b"  \n")


def test_unknown_judged_query_rejected():
    queries = {"1": "a"}
    qrels = {"1": {"d": 1}, "9": {"d": 1}, "8": {"d": 2}}

    with pytest.raises(InvalidJudgementsError) as raised:
        check_judged_queries_exist(queries, qrels, qrels_source="qrels/test.tsv")

    assert str(raised.value) == (
        "qrels/test.tsv: 2 query ids have judgements but no entry in the queries file: '8', '9'"
    )


def test_cranfield_folder_read(cranfield_dir):
    queries, qrels = read_judgements(cranfield_dir)

    assert len(queries) == 225
    assert set(queries) == {str(i) for i in range(1, 226)}
    assert len(qrels) == 225
    assert sum(len(judged) for judged in qrels.values()) == 1612
    assert {grade for judged in qrels.values() for grade in judged.values()} == {1, 2, 3, 4}
    assert qrels["1"]["12"] == 2
    assert queries["2"].startswith("what are the structural and aeroelastic problems")


def test_read_qrels_names_folder_in_error(tmp_path):
    (tmp_path / "qrels").mkdir()
    path = tmp_path / "qrels" / "dev.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\t2\tx\n")

    with pytest.raises(InvalidJudgementsError, match=re.escape("qrels/dev.tsv, line 2: score 'x'")):
        read_qrels(path)


def test_read_judgements_missing_file(tmp_path):
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "a"}\n')

    with pytest.raises(FileNotFoundError):
        read_judgements(tmp_path)
