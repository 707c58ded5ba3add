"""Testimonies in the archive: scoring every post, and the reviewers' decisions.

The tool proposes, people decide: a score only ever makes a post a *candidate*; only a
reviewer accepts or rejects it, and every decision is kept with who and when, so changing
one keeps its history. Every decision is also a label the model learns from at its next
training. A post that may identify a child is flagged and kept out of every report and
export (the `visible_posts` view) until a reviewer accepts it, after redacting it if need be.
"""

from __future__ import annotations

import getpass
import json
import logging
from pathlib import Path
from typing import Any, Callable

from sqlite_utils import Database

from monitor.archive import reviews
from monitor.core.config import Config
from monitor.testimonies import model as testimony_model
from monitor.testimonies.model import Model
from monitor.testimonies.safeguarding import identifying_details
from monitor.testimonies.signals import compile_signals

STATUSES = ("candidate", "accepted", "rejected")
CONSENT = ("unknown", "asked", "granted", "refused")
ORDERS = ("score", "uncertain", "date")
BATCH = 2000
log = logging.getLogger("campaign_monitor.testimonies")
Progress = Callable[[int, int], None]


class ReviewError(Exception):
    """A review command cannot be carried out; the message says why."""


def model_path(config: Config) -> Path:
    """The model lives beside the archive: it is learned from this archive's decisions."""
    return config.archive.with_name(config.archive.name + ".testimony-model.json")


def training_set(db: Database, config: Config) -> tuple[list[dict[str, Any]], list[str], list[bool], int, int]:
    """The shipped (or configured) corpus, overridden and extended by reviewers' latest decisions.

    Returns the corpus, the texts and labels to train on, how many labels came from
    reviewers, and the last decision id seen.
    """
    corpus = testimony_model.shipped_corpus(config.testimonies.corpus)
    labelled = {r["text"]: bool(r["testimony"]) for r in corpus}
    last = db.execute("SELECT coalesce(max(id), 0) FROM testimony_decisions").fetchone()[0]
    decided = db.execute(
        "SELECT p.text, d.status FROM testimony_decisions d JOIN current_posts p ON p.id = d.post_id"
        " WHERE d.id IN (SELECT max(id) FROM testimony_decisions WHERE action IN ('accepted', 'rejected')"
        " GROUP BY post_id) AND p.text IS NOT NULL"
    ).fetchall()
    for text, status in decided:
        labelled[text] = status == "accepted"
    return corpus, list(labelled), list(labelled.values()), len(decided), last


def _inputs(config: Config, corpus: list[dict[str, Any]]) -> dict[str, str]:
    """What the config's model depends on besides reviewers' decisions (see `testimony_model.inputs_of`)."""
    return testimony_model.inputs_of(corpus, compile_signals(config.testimonies.signals), config.testimonies.threshold)


def retrain(db: Database, config: Config, progress: Callable[[str], None] | None = None) -> Model:
    corpus, texts, labels, from_reviewers, last = training_set(db, config)
    signals = compile_signals(config.testimonies.signals)
    inputs = _inputs(config, corpus)
    shipped = testimony_model.shipped_model()
    if not from_reviewers and shipped is not None and shipped.inputs == inputs:
        model = shipped  # the same inputs give the same model: no need to spend seconds training it again
        model.last_decision_id = last
    else:
        model = testimony_model.train(texts, labels, signals, threshold=config.testimonies.threshold,
                                      reviewer_labels=from_reviewers, last_decision_id=last, inputs=inputs,
                                      progress=progress)
    model.save(model_path(config))
    log.info("testimony model %s trained on %d posts (%d from reviewers): %s", model.version,
             model.corpus["size"], from_reviewers, model.cv)
    return model


def current_model(db: Database, config: Config) -> Model:
    """The model beside the archive. It is (re)made when there is none, when its corpus,
    phrases or threshold are no longer the config's, or when reviewers have made
    `retrain_after` decisions since it was trained."""
    model = testimony_model.load(model_path(config))
    if model is None:
        return retrain(db, config)
    if model.inputs != _inputs(config, testimony_model.shipped_corpus(config.testimonies.corpus)):
        return retrain(db, config)
    every = config.testimonies.retrain_after
    if every:
        new = db.execute("SELECT count(*) FROM testimony_decisions WHERE id > ? AND action IN ('accepted', 'rejected')",
                         [model.last_decision_id]).fetchone()[0]
        if new >= every:
            return retrain(db, config)
    return model


def scored_text(text: str | None, media_text: str | None) -> str:
    """What a post says, as scoring and safeguarding read it: its text, then what its pictures say.

    A poster's lines are one text, so they are joined with spaces (the same length: the
    reasons' and flags' positions point into this string, and whatever quotes them,
    `explain`, is given the same one).
    """
    return f"{text or ''}\n\n{_one_text(media_text)}" if media_text else (text or "")


def _one_text(media_text: str) -> str:
    """A post's media text as one text: its lines joined by spaces, the same length."""
    return media_text.replace("\n", " ")


def assess(texts: list[str], model: Model, config: Config, media_texts: list[str | None] | None = None
           ) -> list[dict[str, Any]]:
    """Score, reasons and safeguarding flags of each post, as the columns of `testimonies`.

    What a post's pictures say is scored with its text and on its own, and the higher
    probability counts: a poster is a testimony however little the post around it says
    (hashtags and a link pulled a poster's 0.88 down to 0.1). Flags are looked for in both.
    """
    media_texts = media_texts or [None] * len(texts)
    combined = [scored_text(text, media) for text, media in zip(texts, media_texts)]
    signals = compile_signals(config.testimonies.signals)
    features, found = testimony_model.featurize(combined, signals)
    probabilities = [float(p) for p in model.probabilities(features)]
    pictured = [i for i, media in enumerate(media_texts) if media]
    if pictured:
        features, alone = testimony_model.featurize([_one_text(media_texts[i]) for i in pictured], signals)
        for i, p, own in zip(pictured, model.probabilities(features), alone):
            if not own.only_tags:
                probabilities[i] = max(probabilities[i], float(p))
    out = []
    for text, signals_found, p in zip(combined, found, probabilities):
        score = 0.0 if signals_found.only_tags else round(p, 4)
        flags = identifying_details(text)
        out.append({
            "score": score,
            "status": "candidate" if score >= config.testimonies.threshold else "none",
            "reasons": json.dumps([{"kind": h.kind, "start": h.start, "end": h.end} for h in signals_found.hits]),
            "flagged": int(bool(flags)),
            "flag_reasons": json.dumps([{"label": f.label, "start": f.start, "end": f.end} for f in flags]),
        })
    return out


def score_posts(db: Database, config: Config, *, rescore: bool = False, progress: Progress | None = None) -> int:
    """Score live posts not scored by the current model (every live post with `rescore`).

    Reviewers' decisions are kept; a flag, once raised, stays until a reviewer accepts the post.
    """
    model = current_model(db, config)
    where = "" if rescore else "AND (t.post_id IS NULL OR t.model_version IS NOT ?)"
    params = [] if rescore else [model.version]
    ids = [r[0] for r in db.execute(
        f"SELECT p.id FROM current_posts p LEFT JOIN testimonies t ON t.post_id = p.id WHERE 1 {where}"
        " ORDER BY p.id", params)]
    for offset in range(0, len(ids), BATCH):
        batch = ids[offset:offset + BATCH]
        rows = db.execute(f"SELECT id, text, media_text FROM posts WHERE id IN ({','.join('?' * len(batch))})",
                          batch).fetchall()  # a redaction is in posts.text too
        results = assess([text or "" for _, text, _ in rows], model, config, [media for _, _, media in rows])
        reviews.store_scores(db, zip([post_id for post_id, _, _ in rows], results), model.version)
        if progress:
            progress(offset + len(batch), len(ids))
    return len(ids)


def reviewer(by: str | None) -> str:
    return by or getpass.getuser()


def _row(db: Database, post_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT t.*, p.text, p.url, p.platform, p.author, p.created_at, p.media, p.media_text"
                         " FROM testimonies t JOIN posts p ON p.id = t.post_id WHERE t.post_id = ?", [post_id]))
    if not rows:
        raise ReviewError(f"no testimony {post_id} (see 'campaign-monitor testimonies list')")
    return rows[0]


def decide(db: Database, post_id: int, status: str, *, by: str | None, note: str | None = None,
           consent: str | None = None) -> dict[str, Any]:
    """Accept or reject a testimony, keeping every earlier decision in `testimony_decisions`."""
    current = _row(db, post_id)
    consent = consent or current["consent"] or "unknown"
    reviews.record_decision(db, post_id, status, consent, note, reviewer(by))
    return _row(db, post_id)


def redact(db: Database, post_id: int, text: str, model: Model, config: Config, *, by: str | None,
           media_text: str | None = None) -> dict[str, Any]:
    """Replace the text every output shows; the original stays only in the raw payloads.

    What the post's pictures say is replaced too, by `media_text` (none: left out of every
    output), since the words a reviewer redacts may be on the poster as well; the reading
    job never writes it again. Reasons and flags are worked out again on the new text, so
    their positions point into it; the flag stays raised until a reviewer accepts the
    post. An earlier redaction's text is dropped from the history: it may hold words this
    one removes.
    """
    _row(db, post_id)
    media_text = (media_text or "").strip() or None
    [result] = assess([text], model, config, [media_text])
    reviews.store_redaction(db, post_id, text, result, _flag_labels_after_redaction(db, post_id, result),
                            model.version, reviewer(by), media_text=media_text)
    return _row(db, post_id)


def _flag_labels_after_redaction(db: Database, post_id: int, result: dict[str, Any]) -> str:
    """Flags found in the new text, else the old flags' labels without their positions."""
    if result["flagged"]:
        return result["flag_reasons"]
    old = json.loads(db.execute("SELECT flag_reasons FROM testimonies WHERE post_id = ?", [post_id]).fetchone()[0]
                     or "[]")
    return json.dumps([{"label": f["label"]} for f in old])


LISTING_ORDER = {"score": "t.score DESC, p.created_at", "uncertain": "abs(t.score - :threshold), p.created_at",
                 "date": "p.created_at DESC"}


def listing(db: Database, status: str | None, order: str = "score", threshold: float = 0.5) -> list[dict[str, Any]]:
    where = "t.status = :status" if status else "t.status IN ('candidate', 'accepted', 'rejected')"
    return list(db.query(
        "SELECT t.post_id AS id, t.status, t.score, t.flagged, t.consent, t.model_version, p.platform, p.created_at,"
        " coalesce(t.display_text, p.text) AS text, p.url, t.reasons, t.flag_reasons FROM testimonies t"
        f" JOIN current_posts p ON p.id = t.post_id WHERE {where} ORDER BY {LISTING_ORDER[order]}",
        {"status": status, "threshold": float(threshold)},
    ))


def details(db: Database, post_id: int) -> dict[str, Any]:
    row = _row(db, post_id)
    row["decisions"] = list(db.query("SELECT * FROM testimony_decisions WHERE post_id = ? ORDER BY id", [post_id]))
    row["media_files"] = list(db.query("SELECT * FROM media_files WHERE post_id = ? ORDER BY id", [post_id]))
    row["readings"] = list(db.query(
        "SELECT r.sha256, r.kind, r.status, r.engine, r.error, json_array_length(r.lines) AS lines FROM media_text r"
        " WHERE r.sha256 IN (SELECT sha256 FROM media_files WHERE post_id = ?) ORDER BY r.id", [post_id]))
    return row


def explain(text: str, reasons: str, flag_reasons: str) -> tuple[list[str], list[str]]:
    """What a reviewer reads: each matched phrase and each flag, quoted from the text shown."""
    def quote(item: dict[str, Any]) -> str:
        if "start" in item and item["end"] <= len(text):
            return f" '{text[item['start']:item['end']]}'"
        return ""

    why = [f"{r['kind'].replace('_', ' ')}:{quote(r)}" for r in json.loads(reasons or "[]")]
    flags = [f"{f['label']}{quote(f)}" for f in json.loads(flag_reasons or "[]")]
    return why, flags
