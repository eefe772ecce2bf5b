"""The text strings of a PDF's pages, without a PDF library (none is in the lock): each
content stream is inflated when it is compressed (FlateDecode, possibly under ASCII85Decode,
as reportlab writes them) and its literal strings ``(...)`` are read. The receipt sets its
dates and code in Helvetica, so they are plain literal strings there."""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"\bobj\s*<<((?:(?!\bobj\b).)*?)>>\s*stream\r?\n(.*?)\s*endstream", re.S)
_LITERAL = re.compile(rb"\((?:\\.|[^\\)])*\)")


def _inflate(head: bytes, body: bytes) -> bytes:
    if b"/ASCII85Decode" in head:
        data = body.strip()
        if data.endswith(b"~>"):
            data = data[:-2]
        body = base64.a85decode(data.replace(b"<~", b""))
    if b"/FlateDecode" in head:
        body = zlib.decompress(body)
    return body


def pdf_strings(pdf: bytes) -> list[str]:
    """Every literal string in the PDF's content streams, unescaped (Latin-1)."""
    out = []
    for head, body in _STREAM.findall(pdf):
        try:
            content = _inflate(head, body)
        except (ValueError, zlib.error):
            continue
        for literal in _LITERAL.findall(content):
            text = literal[1:-1].replace(rb"\(", b"(").replace(rb"\)", b")")
            out.append(text.replace(rb"\\", b"\\").decode("latin-1"))
    return out
