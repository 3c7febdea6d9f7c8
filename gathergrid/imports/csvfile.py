"""Reading and writing CSV text: encodings, delimiters, records, and cells
escaped against formula injection."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from gathergrid.imports.common import DELIMITERS, SNIFF_BYTES, ImportFileError

# --- Parsing ----------------------------------------------------------------------


def csv_open(file: BinaryIO) -> tuple[TextIO, str]:
    """The file as text (UTF-8, a byte-order mark dropped) and its delimiter.

    Reads the file twice, a chunk at a time (memory stays flat for a 50 MB
    file): first to check it is UTF-8 (naming the line if not), then as text.
    """
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head.strip():
        raise ImportFileError("The file is empty.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            "The file is UTF-16 text; save it as “CSV UTF-8” and upload that."
        )
    if head.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "This looks like a spreadsheet workbook (.xlsx), not CSV; save the "
            "sheet as “CSV UTF-8” and upload that."
        )
    if b"\x00" in head:
        raise ImportFileError(
            "This is not a CSV file: it holds binary data. Save the sheet as "
            "“CSV UTF-8” and upload that."
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    for chunk in iter(lambda: file.read(1 << 20), b""):
        if b"\x00" in chunk:
            line += chunk[: chunk.index(b"\x00")].count(b"\n")
            raise ImportFileError(
                f"This is not a CSV file: it holds binary data (on line {line}). "
                "Save the sheet as “CSV UTF-8” and upload that."
            )
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            line += chunk[: error.start].count(b"\n")
            raise ImportFileError(
                f"The file is not UTF-8 text (an invalid byte on line {line}). "
                "Save it as “CSV UTF-8” and upload it again."
            ) from None
        line += chunk.count(b"\n")
    file.seek(0)
    # A character cut at the end of the head does not matter to the sniffing.
    delimiter = csv_sniff_delimiter(head.decode("utf-8-sig", errors="ignore"))
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline=""), delimiter


def csv_sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the first rows most evenly."""
    sample = text[:65536]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            rows = [row for _, row in zip(range(20), reader, strict=False) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        # Rows as wide as the header count most; the last may be cut off.
        score = (sum(1 for row in rows[:-1] if len(row) == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, "CSV
# Injection"); exports put a ' before them, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell_escape(cell: str) -> str:
    """``cell`` as a spreadsheet shows it and never runs it: a ' before a
    leading =, +, -, @, tab or CR, except in a plain number such as -5. A cell
    already starting with ' and then one of those gets one more ', so that
    :func:`csv_cell_unescape` gives every cell back exactly."""
    quoted = cell.startswith("'")
    if cell.lstrip("'").startswith(FORMULA_STARTS) and (
        quoted or not _PLAIN_NUMBER.fullmatch(cell)
    ):
        return "'" + cell
    return cell


def csv_cell_unescape(cell: str) -> str:
    """The cell :func:`csv_cell_escape` was given (imports read exports back)."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def csv_records(text: TextIO | str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank record; the header is row 1. Cells
    are unescaped (:func:`csv_cell_unescape`), so an export imports back as is."""
    source = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(source, delimiter=delimiter)
    number = 0
    try:
        for cells in reader:
            number += 1
            if cells and any(cell.strip() for cell in cells):
                yield number, [csv_cell_unescape(cell) for cell in cells]
    except csv.Error as error:
        raise ImportFileError(
            f"Row {number + 1} cannot be read as CSV: {error}."
        ) from None


def header_names(cells: list[str]) -> list[str]:
    return [cell.strip() or f"Column {i + 1}" for i, cell in enumerate(cells)]
