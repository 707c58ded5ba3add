"""Post text made fit for the format being written; the archive keeps it exactly.

A post may hold anything a platform let through: NUL and escape characters, lone
surrogates (no UTF-8 encoder accepts them), text that a spreadsheet runs as a formula
(`=HYPERLINK(...)`), Markdown or HTML. Every output reads its text through one of these
functions, so one hostile post can neither stop a report nor act inside it.
"""

from __future__ import annotations

import re

import pandas as pd

# C0 controls but tab and line breaks, DEL, C1 controls: no output format needs them and
# a terminal obeys them. Lone surrogates cannot be encoded at all.
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SURROGATES = re.compile(r"[\ud800-\udfff]")
# OWASP: a cell starting with one of these is read as a formula by Excel and LibreOffice
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32_767  # characters Excel holds in one cell
MARKDOWN_SPECIAL = {ord(c): f"\\{c}" for c in "\\`*_{}[]()#+-!|<>&~"}


def plain(text: object) -> str:
    """Any value as text every format can hold: controls dropped, surrogates replaced."""
    return SURROGATES.sub("\ufffd", CONTROLS.sub("", "" if text is None else str(text)))


def spreadsheet(value: object) -> object:
    """A cell for CSV or XLSX: text that cannot run as a formula, fits a cell, and is still readable."""
    if not isinstance(value, str):
        return value
    text = plain(value)
    if text.startswith(FORMULA_START):
        text = "'" + text  # shown as typed, never evaluated
    if len(text) > XLSX_CELL_LIMIT:
        text = text[: XLSX_CELL_LIMIT - 1] + "…"
    return text


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose every text cell and column name is `spreadsheet`-safe."""
    out = frame.copy()
    out.columns = [spreadsheet(c) for c in out.columns]
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):  # text may be object or pandas' str dtype
            out[column] = out[column].map(spreadsheet)
    return out


def markdown(text: object) -> str:
    """Untrusted text inert in Markdown and readable as plain text: one line, no markup, no HTML."""
    return " ".join(plain(text).split()).translate(MARKDOWN_SPECIAL)


def terminal(text: object, keep_lines: bool = False) -> str:
    """Text a terminal shows and does not obey: no escape sequences, one line unless asked."""
    cleaned = plain(text).replace("\t", " ")
    return cleaned if keep_lines else " ".join(cleaned.split())
