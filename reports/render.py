"""The report as one self-contained HTML page and as a Markdown summary.

Post text and links are untrusted. Every piece of them that reaches the HTML goes
through `safe_html`: escaped first, then cleaned by nh3 with an explicit allow-list
(links only, http and https only, no images, no attributes but href), and the page's
Content-Security-Policy forbids every script, so even a sanitiser bug could not run one.
"""

from __future__ import annotations

import html

import nh3
import pandas as pd

from reports import charts
from reports.cells import markdown, plain
from reports.definitions import ALL as DEFINED
from reports.metrics import Metrics

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; "
       "base-uri 'none'; form-action 'none'")  # frame-ancestors is ignored in a <meta> CSP
ALLOWED_TAGS = {"a", "br"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#1d1d1f;padding:0 1rem}
h1{margin-bottom:.2rem}.period{color:#555;margin-top:0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.8rem;margin:1.5rem 0}
.card{border:1px solid #ddd;border-radius:.5rem;padding:.7rem}.card b{display:block;font-size:1.5rem}
.up{color:#2a7d2a}.down{color:#b3261e}.muted{color:#777}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem;font-size:.92rem}
th,td{border-bottom:1px solid #eee;padding:.35rem .5rem;text-align:left;vertical-align:top}
.notice{background:#fff4e5;border:1px solid #f0c36d;border-radius:.5rem;padding:.7rem 1rem}
.empty{background:#eef3fb;border:1px solid #9db5e0;border-radius:.5rem;padding:1rem}
svg{max-width:100%;height:auto}blockquote{border-left:4px solid #6a3d9a;margin:1rem 0;padding:.3rem 1rem;background:#faf7fd}footer{font-size:.85rem;color:#555;border-top:1px solid #ddd;margin-top:2rem}
"""


def _esc(value: object, quote: bool = True) -> str:
    """Any value as HTML text: escaped, and without what no page may hold (see reports.cells)."""
    return html.escape(plain(value), quote=quote)


def safe_html(text: str, url: str | None = None, limit: int = 280) -> str:
    """Untrusted text (and its link) as HTML that can carry no markup but a plain link."""
    text = plain(text)
    excerpt = text if len(text) <= limit else text[: limit - 1] + "…"
    body = _esc(excerpt).replace("\n", "<br>")
    if url:
        body += f' <a href="{_esc(url, quote=True)}">link</a>'
    return nh3.clean(body, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https"},
                     link_rel="noopener noreferrer nofollow")


def _number(value: float) -> str:
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"


def _change(change: float | None) -> str:
    if change is None:
        return '<span class="muted">no earlier data</span>'
    css = "up" if change >= 0 else "down"
    return f'<span class="{css}">{change:+.0f}% vs previous</span>'


def _table(frame: pd.DataFrame, cells: dict | None = None) -> str:
    cells = cells or {}
    if frame.empty:
        return '<p class="muted">None in this period.</p>'
    head = "".join(f"<th>{_esc(str(c))}</th>" for c in frame.columns if c != "url")
    rows = []
    for record in frame.to_dict(orient="records"):
        tds = []
        for column, value in record.items():
            if column == "url":
                continue
            content = cells[column](record) if column in cells else _esc(value)
            tds.append(f"<td>{content}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _quotes(frame: pd.DataFrame) -> str:
    if frame.empty:
        return '<p class="muted">No accepted testimony from this period yet.</p>'
    return "".join(
        f'<blockquote>{safe_html(r["text"], r["link"], limit=1000)}'
        + (f'<br><span class="muted">Its pictures say:</span> {_esc(r["picture_text"][:1000].replace(chr(10), " / "))}'
           if r.get("picture_text") else "")
        + f'<br><span class="muted">{_esc(r["author"])}, {_esc(r["platform"])}, {_esc(r["date"])}</span></blockquote>'
        for r in frame.to_dict(orient="records"))


def render_html(m: Metrics, campaign: str) -> str:
    cards = "".join(
        f'<div class="card">{_esc(h.name)}<b>{_number(h.value)}</b>{_change(h.change)}</div>'
        for h in m.headlines
    )
    notices = "".join(f"<li>{_esc(n)}</li>" for n in m.coverage_notes)
    coverage = (f'<div class="notice"><b>What these numbers may be missing</b><ul>{notices}</ul></div>'
                if notices else '<p>Every source was collected without failures or caps in this period.</p>')
    if m.empty:
        body = (f'<div class="empty"><b>Nothing collected in this period.</b> No post with the campaign\'s '
                f'hashtags was archived between {_esc(m.period.title)}.</div>')
    else:
        t = m.tables
        body = f"""
<h2>Volume</h2>{charts.daily_volume(m.daily)}
<h3>Posts by source</h3>{_table(t["sources"])}
<h2>Participation</h2>{charts.participants(m.new_participants, m.returning_participants)}
<h3>Top participants</h3>{_table(t["top_participants"])}
<h2>Reach and engagement</h2>{charts.engagement(m.daily_engagement)}
<h3>Top posts by engagement</h3>{_table(t["top_posts"], {"text": lambda r: safe_html(r["text"], r["url"])})}
<h2>Conversation</h2><h3>Co-hashtags</h3>{_table(t["co_hashtags"])}
<h3>Most-shared links</h3>{_table(t["links"], {"link": lambda r: safe_html(r["link"], r["link"], limit=120)})}
<h2>Testimonies</h2><p>{m.testimony_counts.get("candidates", 0)} new candidates to review,
{m.testimony_counts.get("accepted", 0)} accepted.</p>
{_quotes(t["testimonies"])}"""
    footnotes = "".join(f"<dt>{_esc(m.name)}</dt><dd>{_esc(m.definition)} ({_esc(m.unit)})</dd>" for m in DEFINED)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(campaign)}: {_esc(m.period.title)}</title><style>{STYLE}</style></head>
<body><h1>{_esc(campaign)}</h1><p class="period">{_esc(m.period.title)}</p>
<div class="cards">{cards}</div>
<h2>Coverage</h2><p class="fixity">{_esc(m.fixity)}</p>{coverage}{_table(m.tables["coverage"])}
{body}
<footer><h2>Definitions</h2><dl>{footnotes}</dl></footer></body></html>
"""


_md = markdown  # untrusted text inert in Markdown: one line, no markup, no HTML, no entities


def _md_url(url: str) -> str:
    url = plain(url)
    ok = url.startswith(("https://", "http://")) and not any(c in url for c in " <>\n")
    return f"<{url}>" if ok else ""


def render_markdown(m: Metrics, campaign: str) -> str:
    lines = [f"# {_md(campaign)}: {m.period.title}", ""]
    for h in m.headlines:
        change = "no earlier data" if h.change is None else f"{h.change:+.0f}% vs previous period"
        lines.append(f"- **{h.name}**: {_number(h.value)} ({change})")
    lines.append("")
    if m.empty:
        lines += ["**Nothing collected in this period.**", ""]
    else:
        lines += ["## Top posts", ""]
        for r in m.tables["top_posts"].to_dict(orient="records"):
            lines.append(f"- {r['engagement']} engagement, {r['platform']}, {_md(r['author'])}: "
                         f"{_md(r['text'][:160])} {_md_url(r['url'])}")
        lines.append("")
    if not m.empty:
        lines += ["## Testimonies", "", f"{m.testimony_counts.get('candidates', 0)} new candidates, "
                  f"{m.testimony_counts.get('accepted', 0)} accepted.", ""]
        for r in m.tables["testimonies"].to_dict(orient="records"):
            lines.append(f"> {_md(r['text'])} ({_md(r['author'])}, {r['platform']}, {r['date']}) {_md_url(r['link'])}")
            if r.get("picture_text"):
                lines.append(f">\n> Its pictures say: {_md(r['picture_text'][:1000].replace(chr(10), ' / '))}")
            lines.append("")
    lines += ["## Fixity", "", m.fixity, ""]
    if m.coverage_notes:
        lines += ["## What these numbers may be missing", ""] + [f"- {_md(n)}" for n in m.coverage_notes] + [""]
    lines += ["## Definitions", ""] + [f"- **{m.name}** ({m.unit}): {m.definition}" for m in DEFINED]
    return "\n".join(lines) + "\n"
