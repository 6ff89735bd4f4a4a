"""Read a transaction file (CSV, plain or .gz) into arrays for ``rules.summarise``."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EPOCH = dt.date(1970, 1, 1)
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")


class TransactionFileError(ValueError):
    """The file cannot be read as asked; the message names the file and line."""


@dataclass(frozen=True)
class Transactions:
    customers: np.ndarray
    days: np.ndarray  # days since 1970-01-01
    amounts: np.ndarray


def parse_day(text: str, date_format: str | None) -> int:
    """Day number of a date string; without a format, YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD,
    with anything after the date (a time) ignored."""
    text = text.strip()
    if date_format:
        return (dt.datetime.strptime(text, date_format).date() - EPOCH).days
    for fmt in DEFAULT_DATE_FORMATS:
        head = text[:10] if fmt != "%Y%m%d" else text[:8]
        try:
            return (dt.datetime.strptime(head, fmt).date() - EPOCH).days
        except ValueError:
            continue
    raise ValueError(text)


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def read_transactions(
    file, *, customer: str, date: str, amount: str, date_format: str | None = None
) -> Transactions:
    path = Path(file)
    if not path.is_file():
        raise TransactionFileError(f"{path}: no such file")
    customers: list[str] = []
    days: list[int] = []
    amounts: list[float] = []
    seen_dates: dict[str, int] = {}
    try:
        with _open(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise TransactionFileError(f"{path} line 1: the file is empty")
            header = [h.strip() for h in header]
            index = {}
            for role, name in (("customer", customer), ("date", date), ("amount", amount)):
                if name not in header:
                    raise TransactionFileError(
                        f"{path} line 1: no column {name!r} for --{role}; "
                        f"columns are: {', '.join(header)}"
                    )
                index[role] = header.index(name)
            need = max(index.values())
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) <= need:
                    raise TransactionFileError(
                        f"{path} line {line}: {len(row)} fields, expected {len(header)}"
                    )
                key = row[index["customer"]].strip()
                if not key:
                    raise TransactionFileError(f"{path} line {line}: empty {customer!r}")
                text = row[index["date"]]
                day = seen_dates.get(text)
                if day is None:
                    try:
                        day = parse_day(text, date_format)
                    except ValueError:
                        expected = date_format or "YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD"
                        raise TransactionFileError(
                            f"{path} line {line}: {date!r} value {text!r} is not a date "
                            f"({expected})"
                        ) from None
                    seen_dates[text] = day
                try:
                    value = float(row[index["amount"]])
                except ValueError:
                    raise TransactionFileError(
                        f"{path} line {line}: {amount!r} value {row[index['amount']]!r} "
                        "is not a number"
                    ) from None
                customers.append(key)
                days.append(day)
                amounts.append(value)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise TransactionFileError(f"{path}: cannot be read as CSV ({exc})") from exc
    if not customers:
        raise TransactionFileError(f"{path}: no transactions after the header")
    return Transactions(
        customers=np.array(customers),
        days=np.array(days, dtype=np.int64),
        amounts=np.array(amounts, dtype=float),
    )
