"""The testimony register: what archivists keep and comms teams may quote.

Only testimonies a reviewer may release appear: of the status asked for, and never a
post flagged for safeguarding unless a reviewer accepted it. The text is the reviewer's
redaction when there is one. Authors appear as pseudonyms unless [report] show_authors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from monitor.config import Config
from monitor.testimonies import VISIBLE
from reports.pseudonym import load_key, pseudonym

COLUMNS = ["id", "text", "link", "platform", "date", "author", "status", "consent", "notes",
           "media_sha256", "score", "reasons"]


def register(db: Database, config: Config, status: str = "accepted", since: str | None = None,
             until: str | None = None) -> pd.DataFrame:
    key = None if config.report.show_authors else load_key(config.report.key_file)
    where, params = ["t.status = ?", VISIBLE, "p.deleted_at IS NULL"], [status]
    if since and until:
        where.append("p.created_at >= ? AND p.created_at < ?")
        params += [since, until]
    rows = db.query(
        "SELECT p.id, coalesce(t.display_text, p.text) AS text, p.url, p.platform, p.created_at, p.author,"
        " t.status, t.consent, t.note, t.score, t.reasons,"
        " (SELECT group_concat(sha256, ' ') FROM media_files m WHERE m.post_id = p.id AND m.status = 'stored') AS media"
        f" FROM testimonies t JOIN posts p ON p.id = t.post_id WHERE {' AND '.join(where)} ORDER BY p.created_at",
        params,
    )
    records = [
        {"id": r["id"], "text": r["text"], "link": r["url"], "platform": r["platform"], "date": r["created_at"][:10],
         "author": r["author"] if key is None else pseudonym(key, r["platform"], r["author"]),
         "status": r["status"], "consent": r["consent"], "notes": r["note"] or "", "media_sha256": r["media"] or "",
         "score": r["score"], "reasons": "; ".join(json.loads(r["reasons"] or "[]"))}
        for r in rows
    ]
    return pd.DataFrame(records, columns=COLUMNS)


def write_register(frame: pd.DataFrame, fmt: str, out: Path | None) -> None:
    if fmt == "xlsx":
        frame.to_excel(out, sheet_name="testimonies", index=False)
        return
    text = (frame.to_csv(index=False) if fmt == "csv"
            else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame.to_dict(orient="records")))
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_bytes(text.encode("utf-8-sig" if fmt == "csv" else "utf-8"))
