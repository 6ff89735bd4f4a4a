"""CSV and XLSX downloads of any table the analytics pages show.

CSV is UTF-8 with a byte-order mark so Excel opens Chinese text correctly. XLSX is written
with XlsxWriter (write-only, no dependencies, streams rows in constant memory): numbers stay
numbers, money gets two decimals, ratios a percentage format.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from django.http import HttpResponse

FORMATS = ("csv", "xlsx")


def _filename(name: str, extension: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "export"
    return f"{safe}-{dt.date.today():%Y%m%d}.{extension}"


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 6))
    return value


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheet: str, header: list[str], rows: list[list], kinds: list[str] | None = None):
    """``kinds`` per column: "text", "count", "money", "ratio", "quantity" (default: by value)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    bold = book.add_format({"bold": True, "bg_color": "#F2F4F7", "border": 0})
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        "ratio": book.add_format({"num_format": "0.0%"}),
        "count": book.add_format({"num_format": "#,##0"}),
        "quantity": book.add_format({"num_format": "#,##0.###"}),
    }
    ws = book.add_worksheet(sheet[:31] or "Sheet1")
    ws.freeze_panes(1, 0)
    for c, title in enumerate(header):
        ws.write_string(0, c, str(title), bold)
        ws.set_column(c, c, max(10, min(40, len(str(title)) * 2)))
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            kind = kinds[c] if kinds and c < len(kinds) else ""
            if value is None or value == "":
                ws.write_blank(r, c, None)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, int | float | Decimal):
                ws.write_number(r, c, float(value), formats.get(kind))
            else:
                ws.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


def response(fmt: str, name: str, header: list[str], rows: list[list], kinds=None):
    """An attachment in ``fmt`` (csv or xlsx)."""
    if fmt == "xlsx":
        body = xlsx_bytes(name, header, rows, kinds)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = csv_bytes(header, rows)
        content_type = "text/csv; charset=utf-8"
    reply = HttpResponse(body, content_type=content_type)
    reply["Content-Disposition"] = f'attachment; filename="{_filename(name, fmt)}"'
    return reply
