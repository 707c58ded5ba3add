"""The learned half of testimony scoring: sentence embeddings and a linear classifier.

People tell how nurture helped in words no lexicon lists ("he used to hide under the
table; now he reads to the class"). A post is turned into WordLlama's 256-dimension
sentence embedding (weights and tokenizer ship inside the `wordllama` wheel; nothing is
downloaded) next to the rule signals of `testimony_signals`, and a logistic regression
with balanced classes gives the probability that it is a testimony.

The model is trained from the labelled corpus shipped in `monitor/data/` plus every
reviewer's accept or reject, so the campaign's own decisions teach it. It is kept as
plain JSON beside the archive (coefficients, training date, corpus size, cross-validated
scores): readable, diffable, and loading it runs no code, unlike a pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from monitor.core.clock import utc_now
from monitor.testimonies.signals import Signals, find_signals, rule_features

FORMAT = 1
EMBEDDING = "wordllama l2_supercat 256"
C = 10.0  # weak regularisation: embeddings are unit vectors, their coefficients need room
FOLDS = 5


@lru_cache(maxsize=1)
def _embedder() -> Any:
    """WordLlama from the files its wheel ships.

    wordllama 0.4.0.post1 looks for its tokenizer under `<package>/tokenizer/` but the
    wheel holds `<package>/tokenizers/`; as a *cache* directory, though, it expects
    exactly the wheel's layout (`tokenizers/`, `weights/`). So the package folder is
    passed as the cache, and downloads are disabled so a missing file is an error here,
    never a request to a model hub.
    """
    import wordllama  # deferred: 0.3 s and 120 MB, only when scoring or training
    from wordllama import WordLlama

    return WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)


# Links and handles say nothing about what a post tells, and the campaign's hashtags stand
# in testimonies and adverts alike: left in, they pull every short post towards one point.
# Control characters and lone surrogates would stop the tokenizer.
NOISE = re.compile(r"https?://\S+|www\.\S+|@[\w.]+(?:@[\w.-]+)?|[\x00-\x08\x0b-\x1f\ud800-\udfff]")
TRAILING_TAGS = re.compile(r"(?:\s*#\w+)+\s*$")


def meaningful(text: str) -> str:
    """The words a reader would weigh: links, handles and trailing hashtags out, '#' dropped."""
    text = NOISE.sub(" ", text)
    if "#" in text:
        text = TRAILING_TAGS.sub("", text.rstrip(" \n:")).replace("#", "")
    return text


def embed(texts: Sequence[str]) -> np.ndarray:
    clean = [meaningful(t or "") for t in texts]
    # WordLlama pads each batch of 64 to its longest text: in order of length, a third faster
    order = np.argsort([len(t) for t in clean], kind="stable")
    with np.errstate(invalid="ignore"):  # a post with no words left embeds as zeros, not NaN
        vectors = np.asarray(_embedder().embed([clean[i] for i in order], norm=True), dtype=np.float64)
    out = np.empty_like(vectors)
    out[order] = vectors
    return np.nan_to_num(out)


def featurize(texts: Sequence[str], signals: dict) -> tuple[np.ndarray, list[Signals]]:
    found = [find_signals(t or "", signals) for t in texts]
    rules = np.array([rule_features(f, t or "") for f, t in zip(found, texts)], dtype=np.float64)
    return np.hstack([embed(texts), rules]), found


@dataclass
class Model:
    coef: list[float]
    intercept: float
    trained_at: str
    corpus: dict[str, int]
    cv: dict[str, float]
    last_decision_id: int = 0
    embedding: str = EMBEDDING
    format: int = FORMAT
    version: str = field(default="")
    # digests of what it was trained from: the labelled corpus, the phrases, the threshold
    inputs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.version:
            digest = hashlib.sha256(json.dumps([self.coef, self.intercept]).encode()).hexdigest()
            self.version = f"{self.trained_at[:10]}-{digest[:8]}"

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        z = features @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        """Atomically: a reader never sees half a model."""
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=1)
        os.replace(tmp, path)


def load(path: Path) -> Model | None:
    """The model at `path`, or None when there is none or it is of another format."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("format") != FORMAT or data.get("embedding") != EMBEDDING:
        return None
    return Model(**data)


def shipped_model() -> Model | None:
    """The model trained on the shipped corpus with the default phrases, built by
    scripts/train_shipped_model.py: a new archive starts with it instead of training."""
    with resources.as_file(resources.files("monitor").joinpath("data/testimony_model.json")) as path:
        return load(path)


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def inputs_of(corpus: Sequence[dict[str, Any]], signals: dict, threshold: float) -> dict[str, str]:
    """What a model depends on besides reviewers' decisions: when these change, it must be trained anew."""
    return {"corpus": digest([[r["text"], bool(r["testimony"])] for r in corpus]),
            "signals": digest({k: [p.pattern for p in v] for k, v in signals.items()}),
            "threshold": str(float(threshold))}


def shipped_corpus(path: Path | None = None) -> list[dict[str, Any]]:
    """The labelled posts written for this project (or the campaign's own file)."""
    if path is None:
        text = resources.files("monitor").joinpath("data/testimony_corpus.jsonl").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def fit(features: np.ndarray, labels: np.ndarray) -> tuple[list[float], float]:
    # deferred: scikit-learn is large and only training needs it
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(class_weight="balanced", C=C, max_iter=5000)
    clf.fit(features, labels)
    return clf.coef_[0].tolist(), float(clf.intercept_[0])


def cross_validate(features: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of candidates on held-out folds: what to expect on new posts."""
    from sklearn.model_selection import StratifiedKFold  # deferred: as in fit()

    folds = min(FOLDS, int(labels.sum()), int((~labels).sum()))
    if folds < 2:
        return {}
    predicted = np.zeros(len(labels), dtype=bool)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(features, labels):
        coef, intercept = fit(features[train], labels[train])
        z = features[test] @ np.asarray(coef) + intercept
        predicted[test] = 1.0 / (1.0 + np.exp(-z)) >= threshold
    tp = int((predicted & labels).sum())
    precision = tp / max(1, int(predicted.sum()))
    recall = tp / max(1, int(labels.sum()))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"folds": folds, "threshold": threshold, "precision": round(precision, 3), "recall": round(recall, 3),
            "f1": round(f1, 3)}


_trained: dict[str, tuple[list[float], float, dict[str, float]]] = {}


def train(texts: Sequence[str], labels: Sequence[bool], signals: dict, *, threshold: float,
          reviewer_labels: int = 0, last_decision_id: int = 0, inputs: dict[str, str] | None = None,
          progress: Callable[[str], None] | None = None) -> Model:
    """Fit on every labelled post, after measuring by cross-validation what to expect.

    Training is deterministic, so the same labelled set gives the same model: it is kept
    for the life of the process and a retrain with nothing new costs nothing.
    """
    key = digest([list(texts), [bool(x) for x in labels], threshold, {k: [p.pattern for p in v]
                                                                      for k, v in signals.items()}])
    y = np.asarray(labels, dtype=bool)
    corpus = {"size": len(y), "testimonies": int(y.sum()), "others": int((~y).sum()),
              "from_reviewers": reviewer_labels}
    if key in _trained:
        coef, intercept, cv = _trained[key]
        return Model(coef, intercept, utc_now(), corpus, cv, last_decision_id, inputs=dict(inputs or {}))
    if y.all() or not y.any():
        raise ValueError("training needs both testimonies and other posts")
    if progress:
        progress(f"embedding {len(texts)} labelled posts")
    features, _ = featurize(texts, signals)
    if progress:
        progress(f"{FOLDS}-fold cross-validation")
    cv = cross_validate(features, y, threshold)
    coef, intercept = fit(features, y)
    _trained[key] = coef, intercept, cv
    return Model(coef, intercept, utc_now(), corpus, cv, last_decision_id, inputs=dict(inputs or {}))
