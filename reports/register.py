"""The testimony register: what archivists keep and comms teams may quote.

Only testimonies a reviewer may release appear: of the status asked for, and never a
post flagged for safeguarding unless a reviewer accepted it. The text is the reviewer's
redaction when there is one; `picture_text` is what its pictures say (descriptions and
recognised text), redacted with it. Authors appear as pseudonyms unless [report] show_authors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from monitor.core.config import Config
from reports.cells import plain, spreadsheet_frame
from reports.export import write_atomic, write_workbook
from reports.metrics import in_period
from reports.pseudonym import disclosure

COLUMNS = ["id", "text", "picture_text", "link", "platform", "date", "author", "status", "consent", "notes",
           "media_sha256", "score", "reasons"]


def register(db: Database, config: Config, status: str = "accepted", since: str | None = None,
             until: str | None = None) -> pd.DataFrame:
    shown = disclosure(config)  # what the register may reveal of authors: the reports' rule
    # through the status index: ANALYZE sees two statuses in a million rows and would scan them all
    # for the accepted few (the whole table through the page cache: 16 MB of a week's report)
    where = ["v.id IN (SELECT post_id FROM testimonies INDEXED BY idx_testimonies_status WHERE status = ?)"]
    params = [status]
    if since and until:
        # kept off the date index: reach the few testimonies of a status through its index instead
        where.append(in_period("v", scan=True))
        params += [since, until]
    # visible_posts: the one rule for what outputs may show (flags, redactions, deletions)
    rows = db.query(
        "SELECT v.id, v.text, v.url, v.platform, v.created_at, v.author, v.testimony_status AS status, v.consent,"
        " v.note, v.testimony_score AS score, v.reasons, v.media_text,"
        " (SELECT group_concat(sha256, ' ') FROM media_files m WHERE m.post_id = v.id AND m.status = 'stored') AS media"
        f" FROM visible_posts v WHERE {' AND '.join(where)} ORDER BY +v.created_at",  # sorted, not scanned in order
        params,
    )
    records = [
        {"id": r["id"], "text": shown.text(r["text"]), "picture_text": shown.text(r["media_text"] or ""),
         "link": shown.link(r["url"]), "platform": r["platform"],
         "date": r["created_at"][:10], "author": shown.author(r["platform"], r["author"]),
         "status": r["status"], "consent": r["consent"], "notes": r["note"] or "", "media_sha256": r["media"] or "",
         "score": r["score"], "reasons": "; ".join(sorted({h["kind"].replace("_", " ")
                                                           for h in json.loads(r["reasons"] or "[]")}))}
        for r in rows
    ]
    return pd.DataFrame(records, columns=COLUMNS)


def write_register(frame: pd.DataFrame, fmt: str, out: Path | None) -> None:
    """The register as CSV or XLSX (formula-safe cells) or JSON lines, to `out` or standard output."""
    if fmt == "xlsx":
        write_workbook(out, {"testimonies": frame})
        return
    if fmt == "csv":
        text = spreadsheet_frame(frame).to_csv(index=False)
    else:
        text = "".join(json.dumps({k: plain(v) if isinstance(v, str) else v for k, v in r.items()},
                                  ensure_ascii=False) + "\n" for r in frame.to_dict(orient="records"))
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text.encode("utf-8-sig" if fmt == "csv" else "utf-8"))
