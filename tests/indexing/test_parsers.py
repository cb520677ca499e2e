"""Tests for parse_upload: one class per file type, plus dispatch and errors."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader, PdfWriter

from indexing.parsers import (
    SUPPORTED_EXTENSIONS,
    EmptyDocumentError,
    EncryptedPdfError,
    MalformedFileError,
    ParsedDocument,
    ParseError,
    UnsupportedFileTypeError,
    parse_upload,
)


def make_pdf(pages: list[str | None], title: str | None = None) -> bytes:
    """Build a minimal PDF with one Helvetica line per page; None gives a page without text."""
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(len(pages)))
    info = f"<< /Title ({title}) >>" if title else "<< >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info.encode(),
    ]
    for i, text in enumerate(pages):
        content = b"" if text is None else f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {6 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")

    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        pdf += b"%010d 00000 n \n" % offset
    pdf += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_offset,
    )
    return bytes(pdf)


def encrypt_pdf(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    # RC4 works without the optional 'cryptography' package.
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def jsonl(*records: dict | str) -> bytes:
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    return "\n".join(lines).encode("utf-8")


class TestDispatch:
    def test_extension_case_insensitive(self):
        documents = parse_upload("NOTES.TXT", b"hello")
        assert documents[0].text == "hello"

    def test_unsupported_extension_lists_supported(self):
        with pytest.raises(UnsupportedFileTypeError) as caught:
            parse_upload("report.docx", b"data")
        assert caught.value.filename == "report.docx"
        assert caught.value.extension == ".docx"
        for extension in SUPPORTED_EXTENSIONS:
            assert extension in str(caught.value)

    def test_missing_extension(self):
        with pytest.raises(UnsupportedFileTypeError) as caught:
            parse_upload("README", b"data")
        assert caught.value.extension == ""
        assert "no extension" in str(caught.value)

    def test_errors_share_base_class(self):
        for error in (UnsupportedFileTypeError, EmptyDocumentError, MalformedFileError, EncryptedPdfError):
            assert issubclass(error, ParseError)

    def test_supported_extensions_all_parse(self):
        samples = {
            ".txt": b"text",
            ".md": b"# T\ntext",
            ".markdown": b"text",
            ".html": b"<p>text</p>",
            ".htm": b"<p>text</p>",
            ".pdf": make_pdf(["text"]),
            ".jsonl": jsonl({"_id": "1", "text": "text"}),
        }
        assert set(samples) == set(SUPPORTED_EXTENSIONS)
        for extension, data in samples.items():
            assert "text" in parse_upload(f"file{extension}", data)[0].text


class TestPlainText:
    def test_document_fields(self):
        [document] = parse_upload("notes.txt", "Line one\nLine two ü".encode())
        assert document.external_id == "notes.txt"
        assert document.title is None
        assert document.text == "Line one\nLine two ü"
        assert document.content == document.text
        assert document.metadata == {"format": "text"}

    def test_bom_dropped(self):
        [document] = parse_upload("a.txt", b"\xef\xbb\xbfhello")
        assert document.text == "hello"

    def test_crlf_normalised(self):
        [document] = parse_upload("a.txt", b"one\r\ntwo\rthree")
        assert document.text == "one\ntwo\nthree"

    def test_invalid_utf8_names_line(self):
        with pytest.raises(MalformedFileError) as caught:
            parse_upload("latin.txt", b"first line\ncaf\xe9")
        message = str(caught.value)
        assert "latin.txt" in message
        assert "UTF-8" in message
        assert "line 2" in message

    @pytest.mark.parametrize("data", [b"", b"   \n\t\n", b"\xef\xbb\xbf  "])
    def test_whitespace_only_is_empty(self, data):
        with pytest.raises(EmptyDocumentError, match="blank.txt"):
            parse_upload("blank.txt", data)


class TestMarkdown:
    def test_title_from_first_h1(self):
        source = "Intro line\n\n## Sub\n\n# Main Title\n\nBody\n\n# Second"
        [document] = parse_upload("doc.md", source.encode())
        assert document.title == "Main Title"
        assert document.text == source
        assert document.metadata["format"] == "markdown"

    def test_title_not_repeated_in_content(self):
        [document] = parse_upload("doc.markdown", b"# Title\n\nBody")
        assert document.content == "# Title\n\nBody"

    def test_closing_hashes_stripped(self):
        [document] = parse_upload("doc.md", b"# Title ##\nbody")
        assert document.title == "Title"

    def test_heading_in_code_fence_ignored(self):
        source = "```bash\n# install it\npip install x\n```\n\n# Real\n"
        [document] = parse_upload("doc.md", source.encode())
        assert document.title == "Real"

    def test_no_heading_gives_no_title(self):
        [document] = parse_upload("doc.md", b"#hashtag is not a heading\nbody")
        assert document.title is None


class TestHtml:
    PAGE = b"""<!DOCTYPE html>
<html><head><title> Flight  Notes </title><meta charset="utf-8">
<style>p { color: red }</style><script>var hidden = 1;</script></head>
<body><!-- a comment --><h1>Wings</h1>
<p>Lift   depends
on <b>angle</b> &amp; speed.</p>
<div>Line one<br>Line two</div>
<noscript>enable scripts</noscript><template><p>template text</p></template>
<ul><li>first</li><li>second</li></ul>
<script>document.write("hidden too")</script>
caf\xc3\xa9</body></html>"""

    def test_visible_text_only(self):
        [document] = parse_upload("page.html", self.PAGE)
        assert document.text == (
            "Flight Notes\n\nWings\n\nLift depends on angle & speed.\n\n"
            "Line one\nLine two\n\nfirst\nsecond\n\ncafé"
        )

    def test_title_and_fields(self):
        [document] = parse_upload("page.htm", self.PAGE)
        assert document.title == "Flight Notes"
        assert document.external_id == "page.htm"
        assert document.content == document.text
        assert document.metadata == {"format": "html"}

    def test_declared_charset_used(self):
        data = '<html><head><meta charset="koi8-r"></head><body><p>привет</p></body></html>'.encode("koi8-r")
        [document] = parse_upload("ru.html", data)
        assert document.text == "привет"

    def test_undeclared_non_utf8_falls_back_to_windows_1252(self):
        [document] = parse_upload("old.html", "<p>café – ok</p>".encode("windows-1252"))
        assert document.text == "café – ok"

    def test_only_hidden_content_is_empty(self):
        data = b"<html><head><style>x{}</style></head><body><script>1</script> </body></html>"
        with pytest.raises(EmptyDocumentError, match="hidden.html"):
            parse_upload("hidden.html", data)


class TestPdf:
    def test_pages_joined_with_blank_line(self):
        [document] = parse_upload("paper.pdf", make_pdf(["First page text", "Second page text"]))
        assert document.text == "First page text\n\nSecond page text"
        assert document.metadata == {"format": "pdf", "pages": 2}
        assert document.external_id == "paper.pdf"

    def test_title_from_metadata_not_prepended(self):
        [document] = parse_upload("paper.pdf", make_pdf(["Body"], title="A Report"))
        assert document.title == "A Report"
        assert document.content == "Body"

    def test_pages_without_text_skipped(self):
        [document] = parse_upload("mixed.pdf", make_pdf([None, "Only page with text"]))
        assert document.text == "Only page with text"
        assert document.metadata["pages"] == 2

    def test_image_only_pdf_is_empty(self):
        with pytest.raises(EmptyDocumentError) as caught:
            parse_upload("scan.pdf", make_pdf([None, None]))
        assert "scan.pdf" in str(caught.value)
        assert "2 page(s)" in str(caught.value)

    @pytest.mark.parametrize("data", [b"not a pdf at all", b"%PDF-1.4\n%%EOF", b""])
    def test_broken_pdf_is_malformed(self, data):
        with pytest.raises(MalformedFileError, match="broken.pdf"):
            parse_upload("broken.pdf", data)

    def test_password_protected_pdf_rejected(self):
        data = encrypt_pdf(make_pdf(["Secret text"]), user_password="letmein")
        with pytest.raises(EncryptedPdfError, match="locked.pdf"):
            parse_upload("locked.pdf", data)

    def test_encrypted_pdf_with_empty_password_read(self):
        data = encrypt_pdf(make_pdf(["Readable text"]), user_password="")
        [document] = parse_upload("open.pdf", data)
        assert document.text == "Readable text"


class TestBeirJsonl:
    def test_documents_in_order(self):
        data = jsonl(
            {"_id": "d1", "title": "Wing lift", "text": "Lift grows with angle."},
            "",
            {"_id": 7, "text": "No title here."},
            "   ",
        )
        documents = parse_upload("corpus.jsonl", data)
        assert [d.external_id for d in documents] == ["d1", "7"]
        assert documents[0].title == "Wing lift"
        assert documents[0].text == "Lift grows with angle."
        assert documents[1].title is None
        assert documents[1].metadata == {"format": "beir-jsonl", "line": 3}

    def test_content_joins_title_and_text(self):
        [document] = parse_upload("c.jsonl", jsonl({"_id": "1", "title": "Title", "text": "Body text."}))
        assert document.content == "Title Body text."

    def test_empty_text_with_title_accepted(self):
        [document] = parse_upload("c.jsonl", jsonl({"_id": "471", "title": "only a title", "text": ""}))
        assert document.text == ""
        assert document.content == "only a title"

    def test_extra_fields_kept_in_metadata(self):
        record = {"_id": "1", "text": "t", "metadata": {"url": "http://x"}, "year": 1960}
        [document] = parse_upload("c.jsonl", jsonl(record))
        assert document.metadata == {"format": "beir-jsonl", "line": 1, "url": "http://x", "year": 1960}

    def test_crlf_and_bom_accepted(self):
        data = b"\xef\xbb\xbf" + b'{"_id": "a", "text": "x"}\r\n{"_id": "b", "text": "y"}\r\n'
        assert [d.external_id for d in parse_upload("c.jsonl", data)] == ["a", "b"]

    def test_line_separator_inside_string_kept(self):
        [document] = parse_upload("c.jsonl", jsonl({"_id": "1", "text": "a\u2028b"}))
        assert document.text == "a\u2028b"

    def test_integral_float_id(self):
        [document] = parse_upload("c.jsonl", jsonl({"_id": 12.0, "text": "x"}))
        assert document.external_id == "12"

    def test_empty_title_and_text_names_line(self):
        data = jsonl({"_id": "1", "text": "ok"}, {"_id": "2", "title": " ", "text": "  "})
        with pytest.raises(EmptyDocumentError) as caught:
            parse_upload("c.jsonl", data)
        assert "c.jsonl" in str(caught.value)
        assert "line 2" in str(caught.value)

    def test_only_blank_lines_is_empty(self):
        with pytest.raises(EmptyDocumentError, match="no documents"):
            parse_upload("c.jsonl", b"\n  \n")

    @pytest.mark.parametrize(
        ("bad_line", "expected"),
        [
            ('{"_id": "2", "text": ', "invalid JSON"),
            ('["_id", "text"]', "expected a JSON object"),
            ('{"text": "no id"}', "missing '_id'"),
            ('{"_id": "2"}', "missing 'text'"),
            ('{"_id": ["2"], "text": "x"}', "'_id' must be a string or a number"),
            ('{"_id": true, "text": "x"}', "'_id' must be a string or a number"),
            ('{"_id": null, "text": "x"}', "'_id' must be a string or a number"),
            ('{"_id": "", "text": "x"}', "'_id' is empty"),
            ('{"_id": NaN, "text": "x"}', "'_id' must be finite"),
            ('{"_id": "2", "text": 5}', "'text' must be a string"),
            ('{"_id": "2", "title": ["t"], "text": "x"}', "'title' must be a string"),
        ],
    )
    def test_malformed_line_named(self, bad_line, expected):
        data = jsonl({"_id": "1", "text": "fine"}, bad_line)
        with pytest.raises(MalformedFileError) as caught:
            parse_upload("bad.jsonl", data)
        assert "bad.jsonl" in str(caught.value)
        assert "line 2" in str(caught.value)
        assert expected in str(caught.value)

    def test_duplicate_id_names_both_lines(self):
        data = jsonl({"_id": "x", "text": "a"}, {"_id": "y", "text": "b"}, {"_id": "x", "text": "c"})
        with pytest.raises(MalformedFileError) as caught:
            parse_upload("dup.jsonl", data)
        assert "line 3" in str(caught.value)
        assert "line 1" in str(caught.value)
        assert "'x'" in str(caught.value)

    def test_duplicate_across_id_types(self):
        data = jsonl({"_id": 5, "text": "a"}, {"_id": "5", "text": "b"})
        with pytest.raises(MalformedFileError, match="duplicate"):
            parse_upload("dup.jsonl", data)

    def test_invalid_utf8_names_line(self):
        data = b'{"_id": "1", "text": "a"}\n{"_id": "2", "text": "caf\xe9"}'
        with pytest.raises(MalformedFileError, match="line 2"):
            parse_upload("c.jsonl", data)

    def test_skip_empty_records(self, caplog):
        data = jsonl({"_id": "1", "text": "ok"}, {"_id": "2", "title": "", "text": ""}, {"_id": "3", "text": "ok"})
        documents = parse_upload("c.jsonl", data, skip_empty=True)
        assert [d.external_id for d in documents] == ["1", "3"]
        assert "line(s) 2" in caplog.text

    def test_skip_empty_still_rejects_all_empty(self):
        with pytest.raises(EmptyDocumentError, match="only empty records"):
            parse_upload("c.jsonl", jsonl({"_id": "1", "text": ""}), skip_empty=True)

    def test_skip_empty_still_rejects_malformed(self):
        with pytest.raises(MalformedFileError, match="line 2"):
            parse_upload("c.jsonl", jsonl({"_id": "1", "text": ""}, "{"), skip_empty=True)

    def test_cranfield_rejected_by_default(self, cranfield_dir):
        # Cranfield records 471 and 995 have an empty title and an empty text.
        with pytest.raises(EmptyDocumentError, match="line 471"):
            parse_upload("corpus.jsonl", (cranfield_dir / "corpus.jsonl").read_bytes())

    def test_cranfield_with_skip_empty(self, cranfield_dir):
        documents = parse_upload("corpus.jsonl", (cranfield_dir / "corpus.jsonl").read_bytes(), skip_empty=True)
        assert len(documents) == 1398
        ids = {d.external_id for d in documents}
        assert "471" not in ids
        assert "995" not in ids
        first = documents[0]
        assert first.external_id == "1"
        assert first.content == f"{first.title} {first.text}"
        assert all(d.title and d.text for d in documents)


def test_parsed_document_defaults():
    document = ParsedDocument("id", None, "text")
    assert document.metadata == {}
    assert document.content == "text"
