"""A report's folder: report.html, report.md, every table as CSV, and one XLSX workbook."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from reports.metrics import Metrics


def write_report(m: Metrics, folder: Path, html_text: str, markdown: str) -> dict[str, Path]:
    """Write the files atomically (temp file, then rename): a reader never sees half a report."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {"html": _atomic(folder / "report.html", html_text.encode("utf-8")),
               "markdown": _atomic(folder / "report.md", markdown.encode("utf-8"))}
    for name, frame in m.tables.items():
        # UTF-8 with a byte-order mark: Excel then reads accents and emoji right
        written[name] = _atomic(folder / f"{name}.csv", frame.to_csv(index=False).encode("utf-8-sig"))
    xlsx = folder / "report.xlsx"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".xlsx")
    os.close(fd)
    with pd.ExcelWriter(tmp, engine="openpyxl") as book:
        for name, frame in m.tables.items():
            frame.to_excel(book, sheet_name=name[:31], index=False)
    os.replace(tmp, xlsx)
    written["xlsx"] = xlsx
    return written


def _atomic(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path
