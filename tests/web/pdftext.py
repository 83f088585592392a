"""Text shown in a PDF written by fpdf2 (its content streams, inflated): enough for assertions."""

from __future__ import annotations

import re
import zlib


def pdf_text(data: bytes) -> str:
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        raw = match.group(1)
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            pass
        for text in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", raw, re.S):
            chunks.append(text.replace(rb"\(", b"(").replace(rb"\)", b")").replace(rb"\\", b"\\").decode("latin-1"))
    return " ".join(chunks)
