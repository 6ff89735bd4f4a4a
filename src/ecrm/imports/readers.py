"""Reading import files: CSV or JSON Lines, plain or gzip, UTF-8 (with or without BOM) or GB18030.

A ``Table`` yields ``(line, values)`` pairs where ``line`` is the physical line number the
record starts on (the header is line 1 of a CSV) and ``values`` is a list aligned with
``Table.header``. A record that cannot be read at all (a JSON line that is not an object, a
CSV row with too many values) comes as ``(line, values_or_none, reason)`` so the caller can
reject it (with its values when there are any).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from django.utils.translation import gettext_noop as N_

from ecrm.core.messages import Message, Problem
from ecrm.core.text import NUL_CHARACTER, SUSPECT_JSON, NotFinite, load_json, unstorable

GZIP_MAGIC = b"\x1f\x8b"
# .xlsx (a ZIP archive) and .xls (an OLE2 compound file): what a shop's staff upload first.
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# Encodings in which the bytes of a comma, semicolon, tab, quote, CR and LF are those
# characters and nothing else (``Table._split_counts``); in the second, only bytes below
# "@" (GBK's second bytes start there).
SPLIT_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "ascii", "iso8859-1", "cp1252"})
SPLIT_ENCODINGS_LOW = frozenset({"gb18030", "gbk", "gb2312"})
SPLIT_CHUNK = 1 << 22
CANNOT_BE_READ = N_("cannot be read (%(error)s)")
SAMPLE_BYTES = 1 << 20
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")

csv.field_size_limit(16 * 1024 * 1024)


class ImportFileError(Problem):
    """The file cannot be read as a table: missing, empty, undecodable; the subject is the
    file (or the mapping key) at fault."""


def _open_binary(path: Path):
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    except FileNotFoundError as exc:
        raise ImportFileError(str(path), N_("no such file")) from exc
    except IsADirectoryError as exc:
        raise ImportFileError(str(path), N_("is a directory, not a file")) from exc
    except PermissionError as exc:
        raise ImportFileError(str(path), N_("permission denied")) from exc
    if raw.read(2) == GZIP_MAGIC:
        raw.close()
        return gzip.open(path, "rb")
    raw.seek(0)
    return raw


def detect_encoding(sample: bytes) -> str:
    """``utf-8-sig`` when the file starts with a BOM, ``utf-16`` with a UTF-16 one (Excel's
    "Unicode Text", tab-separated), ``utf-8`` when the sample decodes as UTF-8, else
    ``gb18030`` (a superset of GBK, what Excel writes on Chinese Windows)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass
class Table:
    path: Path
    encoding: str
    format: str  # "csv" or "jsonl"
    compressed: bool
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    # Cells written as Excel's keep-as-text formula ``="00123"`` are read as ``00123``; on
    # when the first megabyte holds one (an export writes them in every row or none).
    excel_text: bool = False
    # Learnt by a whole pass of ``_split_counts``, which refuses to split at a NUL byte.
    _no_nul: bool = field(default=False, init=False, repr=False, compare=False)

    def _text(self):
        return io.TextIOWrapper(_open_binary(self.path), encoding=self.encoding, newline="")

    def records(self) -> Iterator[tuple]:
        """Every data record in file order: ``(line, values)`` or ``(line, values, reason)``."""
        yield from self._guarded(self._csv_records if self.format == "csv" else self._jsonl_records)

    def raw_rows(self) -> Iterator[list]:
        """A quick pass over the data rows, values as read (JSON Lines: aligned to the
        header); rows that ``records`` rejects may be among them."""
        yield from self._guarded(self._csv_rows if self.format == "csv" else self._jsonl_rows)

    def _csv_rows(self) -> Iterator[list]:
        with self._text() as text:
            reader = csv.reader(text, delimiter=self.delimiter)
            next(reader, None)
            if self.excel_text:
                reader = map(_excel_text_cells, reader)
            yield from reader

    def _jsonl_rows(self) -> Iterator[list]:
        for record in self._jsonl_records():
            if record[1] is not None:
                yield record[1]

    def column_counts(self, index: int) -> Counter[str] | None:
        """How often each value of column ``index`` occurs, cells as read, rows too short to
        have the column under ""; None for JSON Lines, or where the csv module reads a row
        too short (the caller counts row by row then). In one pass over the file's bytes
        where that reads what the csv module reads (``_split_counts``), else with it (a
        fifth of ``raw_rows``'s time). Text that does not decode raises as ``records`` does."""
        if self.format != "csv":
            return None
        with self._read_errors():
            counts = self._split_counts(index)
            if counts is None:
                with self._text() as text:
                    reader = csv.reader(text, delimiter=self.delimiter)
                    next(reader, None)
                    try:
                        counts = Counter(map(itemgetter(index), reader))
                    except IndexError:
                        return None
        if self.excel_text:
            for cell in [cell for cell in counts if _excel_text(cell) is not cell]:
                counts[_excel_text(cell)] += counts.pop(cell)
        return counts

    def _split_counts(self, index: int) -> Counter[str] | None:
        """``column_counts`` by splitting the bytes at line ends and delimiters, in about
        half the csv module's time (an import's first batch waits for these counts). None
        where that could read other cells than the csv module (``_splittable``, and an
        encoding in which the delimiter, quote and line ends are single ASCII bytes that
        no other character contains). Every chunk is decoded, to fail as the csv module
        would on a bad byte."""
        delimiter = self.delimiter.encode("ascii", "replace")
        codec = codecs.lookup(self.encoding).name
        if len(delimiter) != 1 or not (
            codec in SPLIT_ENCODINGS or (codec in SPLIT_ENCODINGS_LOW and delimiter < b"@")
        ):
            return None
        decode = codecs.getincrementaldecoder(self.encoding)().decode
        counts: Counter[bytes] = Counter()
        with _open_binary(self.path) as raw:
            header = raw.readline()
            decode(header)
            header = header.removesuffix(b"\n").removesuffix(b"\r")
            if not _splittable(header, index):
                return None
            first_cells = _first_cells(delimiter)
            # Column 0 is read by one regular expression over each block, with its CRLF
            # line ends left as they are (in half the time of splitting rows and cells).
            for lines in _line_blocks(raw, decode, crlf_to_lf=index > 0):
                if not _splittable(lines, index):
                    return None
                if index == 0:
                    counts.update(first_cells(b"\n" + lines.removesuffix(b"\n")))
                    continue
                rows = lines.split(b"\n")
                if lines.endswith(b"\n"):
                    rows.pop()  # after the last line end
                split = [row.split(delimiter, index + 1) for row in rows]
                counts.update([row[index] if len(row) > index else b"" for row in split])
        self._no_nul = True
        if not counts:
            return Counter()
        # Decoded in one piece: no character's bytes contain a line end.
        cells = b"\n".join(counts).decode(self.encoding).split("\n")
        return Counter(dict(zip(cells, counts.values(), strict=True)))

    def _guarded(self, source) -> Iterator:
        with self._read_errors():
            yield from source()

    @contextmanager
    def _read_errors(self):
        try:
            yield
        except UnicodeError as exc:  # also UTF-16 without its BOM
            raise self.undecodable(exc) from exc
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ImportFileError(self.path.name, CANNOT_BE_READ, error=exc) from exc
        except csv.Error as exc:
            raise ImportFileError(self.path.name, N_("broken CSV (%(error)s)"), error=exc) from exc

    def undecodable(self, exc: UnicodeError) -> ImportFileError:
        """The error for a file that is not text in its encoding, naming the physical line
        of the first bad byte (the text stream decodes ahead in chunks, so the reader's
        position does not tell; the file is read again to find it)."""
        line = self._first_undecodable_line()
        if line:
            return ImportFileError(
                self.path.name,
                N_(
                    'not valid %(encoding)s text at line %(line)s (%(reason)s); set "encoding" '
                    "in the mapping"
                ),
                encoding=self.encoding,
                line=f"{line:,}",
                reason=str(getattr(exc, "reason", exc)),
            )
        return ImportFileError(
            self.path.name,
            N_('not valid %(encoding)s text (%(reason)s); set "encoding" in the mapping'),
            encoding=self.encoding,
            reason=str(getattr(exc, "reason", exc)),
        )

    def _first_undecodable_line(self) -> int | None:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        try:
            with _open_binary(self.path) as raw:
                for line, chunk in enumerate(raw, start=1):  # split at b"\n"
                    try:
                        decoder.decode(chunk)
                    except UnicodeError:  # also UTF-16 text without its BOM
                        return line
        except (OSError, EOFError, gzip.BadGzipFile):
            pass
        return None

    def _has_nul(self) -> bool:
        """Whether the file holds a NUL byte anywhere (one fast scan of the bytes): only then
        are its rows checked one by one for NUL characters, which no database stores
        (PostgreSQL refuses them in text). An order import's count of rows per order has
        read every byte already."""
        if self._no_nul:
            return False
        with _open_binary(self.path) as raw:
            while block := raw.read(SPLIT_CHUNK):
                if b"\x00" in block:
                    return True
        return False

    def _csv_records(self) -> Iterator[tuple]:
        width = len(self.header)
        nul = self._has_nul()
        with self._text() as text:
            reader = csv.reader(text, delimiter=self.delimiter)
            next(reader, None)
            previous = reader.line_num
            for values in reader:
                line = previous + 1
                previous = reader.line_num
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if not values[0].strip() and not any(v.strip() for v in values):
                    continue  # a blank row as Excel saves it: ",,,,"
                if len(values) != width:
                    if len(values) > width and not any(v.strip() for v in values[width:]):
                        values = values[:width]
                    elif len(values) < width:
                        values = values + [""] * (width - len(values))
                    else:
                        yield line, values, _too_many(len(values), width)
                        continue
                if nul and (problem := self._unstorable(values)) is not None:
                    yield line, values, problem
                    continue
                yield line, _excel_text_cells(values) if self.excel_text else values

    def _jsonl_records(self) -> Iterator[tuple]:
        index = {name: i for i, name in enumerate(self.header)}
        width = len(self.header)
        with self._text() as text:
            for line, raw in enumerate(text, start=1):
                if not raw.strip():
                    continue
                obj = _json_object(raw)
                if isinstance(obj, Message):
                    yield line, None, obj
                    continue
                values: list = [""] * width
                for key, value in obj.items():
                    values[index[key]] = _scalar_text(value)
                if _SUSPECT_TEXT.search(raw) and (problem := self._unstorable(values)):
                    yield line, values, problem
                    continue
                yield line, values

    def _unstorable(self, values: list) -> Message | None:
        """Why no database stores this row's cells (``core.text.unstorable``), naming the
        column, or None."""
        found = unstorable(values, item=".{}")
        if found is None:
            return None
        column = self.header[int(found[0].lstrip(".").split(".")[0])]
        if found[1] == NUL_CHARACTER:
            return Message(N_("%(column)s contains a NUL character"), column=column)
        return Message(N_("%(column)s contains an unpaired surrogate"), column=column)


# JSON's escapes of what no database stores (``core.text.SUSPECT_JSON``, for a decoded line).
_SUSPECT_TEXT = re.compile(SUSPECT_JSON.pattern.decode())


def _line_blocks(raw, decode, crlf_to_lf: bool = True) -> Iterator[bytes]:
    """The rest of ``raw`` in blocks of whole lines, CRLF turned into LF if asked (the last
    block may end without one); decoded on the way, which raises on a bad byte."""
    rest = b""
    while True:
        chunk = raw.read(SPLIT_CHUNK)
        decode(chunk, final=not chunk)
        data = rest + chunk
        cut = data.rfind(b"\n") + 1 if chunk else len(data)
        lines, rest = data[:cut], data[cut:]
        if crlf_to_lf and b"\r\n" in lines:
            lines = lines.replace(b"\r\n", b"\n")
        if lines:
            yield lines
        elif not chunk:
            return


_LONE_CR = re.compile(rb"\r(?!\n)")


def _splittable(lines: bytes, index: int) -> bool:
    """Whether splitting ``lines`` at line ends and delimiters reads the csv module's cells
    of column ``index``: no CR but in a CRLF line end (another is a line end to the csv
    module), no NUL (refused by it), and no quote that could move a cell or a line end
    before the column. For column 0 quotes may come later in a row, as long as no row
    starts with one and each row holds an even number (an odd one leaves a quoted cell
    open across the line end)."""
    if b"\x00" in lines:
        return False
    if b"\r" in lines and (index > 0 or _LONE_CR.search(lines)):
        return False  # (only column 0 is read with CRLF line ends left as they are)
    if b'"' not in lines:
        return True
    if index > 0 or lines.startswith(b'"') or b'\n"' in lines:
        return False
    return not any(row.count(b'"') % 2 for row in lines.split(b"\n") if b'"' in row)


def _first_cells(delimiter: bytes) -> Callable[[bytes], list[bytes]]:
    """For ``b"\\n" + lines``: the first cell of each line (up to the delimiter, or the
    line's CR or LF)."""
    end = re.escape(delimiter)
    return re.compile(rb"\n([^" + end + rb"\r\n]*)").findall


def _excel_text(cell: str) -> str:
    """``="00123"`` (Excel's formula that keeps digits as text) as ``00123``; other cells
    as they are (the same object)."""
    text = cell.strip()
    if len(text) > 2 and text[:2] == '="' and text[-1] == '"' and '"' not in text[2:-1]:
        return text[2:-1]
    return cell


def _excel_text_cells(values: list[str]) -> list[str]:
    return [_excel_text(cell) if '="' in cell else cell for cell in values]


def _too_many(count: int, width: int) -> Message:
    return Message(
        N_("has %(count)s values but the header has %(width)s columns"), count=count, width=width
    )


def _json_object(raw: str) -> dict | Message:
    """The JSON object on this line, or the reason it is not one."""
    try:
        obj = load_json(raw)
    except json.JSONDecodeError as exc:
        # json's own words for what is wrong (exc.msg) have no translation.
        return Message(
            N_("not valid JSON (%(error)s at column %(column)s)"), error=exc.msg, column=exc.colno
        )
    except NotFinite as exc:  # it went in as the text "nan" or "inf"
        return Message(N_("%(value)s is not a number a database can store"), value=exc.literal)
    if not isinstance(obj, dict):
        return Message(N_("not a JSON object"))
    return obj


def _scalar_text(value):
    """JSON values as the text a CSV cell would hold; objects and lists stay as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return value


def open_table(path, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Look at the file and decide how to read it; read its header (JSON Lines: all keys)."""
    path = Path(path)
    with _open_binary(path) as raw:
        compressed = isinstance(raw, gzip.GzipFile)
        try:
            sample = raw.read(SAMPLE_BYTES)
        except (OSError, EOFError) as exc:
            raise ImportFileError(path.name, CANNOT_BE_READ, error=exc) from exc
    if not sample.strip():
        raise ImportFileError(path.name, N_("the file is empty"))
    if sample.startswith(WORKBOOK_MAGIC):
        raise ImportFileError(
            path.name,
            N_(
                "is an Excel workbook (or another ZIP file), not CSV or JSON Lines; "
                "save it from Excel as CSV UTF-8"
            ),
        )
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ImportFileError(
                "encoding", N_("unknown encoding %(encoding)s"), encoding=repr(encoding)
            ) from exc
    encoding = encoding or detect_encoding(sample)
    head = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    name = path.name.lower().removesuffix(".gz")
    is_jsonl = name.endswith(JSONL_SUFFIXES) or head.lstrip().startswith("{")
    table = Table(path, encoding, "jsonl" if is_jsonl else "csv", compressed)
    if is_jsonl and head.lstrip().startswith("["):
        raise ImportFileError(
            path.name,
            N_("is one JSON array, not JSON Lines; write one JSON object per line"),
        )
    if is_jsonl:
        table.header = _jsonl_header(table)
    else:
        first = head.splitlines()[0] if head else ""
        table.delimiter = delimiter or _sniff_delimiter(first)
        table.header = _csv_header(table)
        table.excel_text = '="' in head
    if not table.header:
        raise ImportFileError(path.name, N_("no columns found"))
    return table


def _csv_header(table: Table) -> list[str]:
    try:
        with table._text() as text:
            header = next(csv.reader(text, delimiter=table.delimiter), [])
    except UnicodeError as exc:  # also UTF-16 without its BOM
        raise table.undecodable(exc) from exc
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise ImportFileError(
                table.path.name,
                N_("column %(column)s appears twice in the header"),
                column=repr(name),
            )
        seen.add(name)
    return header


def _jsonl_header(table: Table) -> list[str]:
    """The union of keys over every object, in first-seen order."""
    keys: dict[str, None] = {}
    try:
        with table._text() as text:
            for raw in text:
                if raw.lstrip().startswith("{"):
                    obj = _json_object(raw)
                    if isinstance(obj, dict):
                        keys.update(dict.fromkeys(obj))
    except UnicodeError as exc:  # also UTF-16 without its BOM
        raise table.undecodable(exc) from exc
    return list(keys)
