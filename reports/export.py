"""A report's folder: report.html, report.md, every table as CSV, and one XLSX workbook."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from reports.cells import spreadsheet_frame
from reports.metrics import Metrics


def write_report(m: Metrics, folder: Path, html_text: str, markdown: str) -> dict[str, Path]:
    """Write the files atomically (temp file, then rename): a reader never sees half a report."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {"html": write_atomic(folder / "report.html", html_text.encode("utf-8")),
               "markdown": write_atomic(folder / "report.md", markdown.encode("utf-8"))}
    sheets = {name: spreadsheet_frame(frame) for name, frame in m.tables.items()}
    for name, frame in sheets.items():
        # UTF-8 with a byte-order mark: Excel then reads accents and emoji right
        written[name] = write_atomic(folder / f"{name}.csv", frame.to_csv(index=False).encode("utf-8-sig"))
    written["xlsx"] = write_workbook(folder / "report.xlsx", sheets)
    return written


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """One sheet a table, written beside its final name and renamed; no temp file survives a failure."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".xlsx")
    os.close(fd)
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as book:
            for name, frame in sheets.items():
                spreadsheet_frame(frame).to_excel(book, sheet_name=name[:31], index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_atomic(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
