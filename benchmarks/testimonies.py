"""Testimony and safeguarding benchmark: quality on the shipped corpus, speed, memory.

    python -m benchmarks.testimonies [--posts 20000]

Quality: 5-fold cross-validated precision, recall and F1 of candidates on the corpus that
ships in `monitor/data/` (every fold's model never saw the posts it is judged on), and the
same figures on the held-out files under `tests/data/`, never trained on
(`testimonies_holdout.jsonl` written after the model, `testimonies.jsonl` for the phrase
lexicon before any model existed). Safeguarding: recall on the posts labelled as identifying a child, and the
false-flag rate (posts flagged among those that identify nobody).
Speed, on one core (the process is pinned and BLAS held to one thread): model load time
(the saved model, the embedding weights, the name lists) and posts scored per second,
scoring meaning exactly what collection does per post: embedding, rule signals, the
classifier and the safeguarding check. Memory: the RSS added by loading and scoring.
Targets: precision >= 0.85, recall >= 0.90, safeguarding recall 1.00 with <= 25% false
flags, >= 2,000 posts/s, load < 2 s, < 300 MB added.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HELD_OUT = ROOT / "tests" / "data"

from benchmarks.results import peak_mb  # noqa: E402


def rss_mb() -> float:
    """Current resident memory, from /proc (peak figures would include the interpreter's start)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rates(predicted: list[bool], actual: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and a for p, a in zip(predicted, actual))
    precision = tp / max(1, sum(predicted))
    recall = tp / max(1, sum(actual))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000, help="posts scored for the throughput figure")
    parser.add_argument("--score-with", type=Path, help=argparse.SUPPRESS)  # the fresh scoring process
    parser.add_argument("--training-peak", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if args.score_with:
        return score_with(args.score_with, args.posts, args.training_peak)

    from monitor.testimonies import safeguarding

    from monitor.testimonies import model as testimony_model
    from monitor.testimonies.signals import DEFAULT_SIGNALS, DEFAULT_THRESHOLD, compile_signals

    signals = compile_signals(DEFAULT_SIGNALS)
    corpus = testimony_model.shipped_corpus()
    texts, labels = [r["text"] for r in corpus], [bool(r["testimony"]) for r in corpus]
    print(f"campaign-monitor testimony benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"{os.cpu_count()} cores (pinned to one), Python {platform.python_version()}")
    print(f"corpus: {len(corpus)} labelled posts ({sum(labels)} testimonies, "
          f"{sum(r['identifies_child'] for r in corpus)} identifying a child)")

    started = time.perf_counter()
    model = testimony_model.train(texts, labels, signals, threshold=DEFAULT_THRESHOLD)
    print(f"training with {model.cv['folds']}-fold cross-validation: {time.perf_counter() - started:.1f} s")
    cv = model.cv
    print(f"candidates, {cv['folds']}-fold cross-validation: precision {cv['precision']:.3f} (target 0.85), "
          f"recall {cv['recall']:.3f} (target 0.90), F1 {cv['f1']:.3f}")

    for name in ("testimonies_holdout.jsonl", "testimonies.jsonl"):
        held = read_jsonl(HELD_OUT / name)
        features, _ = testimony_model.featurize([r["text"] for r in held], signals)
        p, r, f = rates(list(model.probabilities(features) >= DEFAULT_THRESHOLD), [x["testimony"] for x in held])
        print(f"candidates, held-out tests/data/{name} ({len(held)} posts, never trained on): precision {p:.3f}, "
              f"recall {r:.3f}, F1 {f:.3f}")

    for name, rows in (("corpus", corpus), ("held-out file", read_jsonl(HELD_OUT / "safeguarding_holdout.jsonl"))):
        flagged = [bool(safeguarding.identifying_details(x["text"])) for x in rows]
        actual = [bool(x["identifies_child"]) for x in rows]
        caught = sum(f and a for f, a in zip(flagged, actual))
        false = sum(f and not a for f, a in zip(flagged, actual))
        print(f"safeguarding, {name}: recall {caught / max(1, sum(actual)):.3f} ({caught}/{sum(actual)}; target 1.00), "
              f"false flags {false / max(1, len(actual) - sum(actual)):.1%} ({false}/{len(actual) - sum(actual)}; "
              "target <= 25%)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        model.save(path)
        # load, speed and memory in a fresh process, as collection sees them
        subprocess.run([sys.executable, "-m", "benchmarks.testimonies", "--score-with", str(path),
                        "--posts", str(args.posts), "--training-peak",
                        str(peak_mb())], check=True, cwd=ROOT)


def score_with(path: Path, count: int, parent_peak_mb: float = 0.0) -> None:
    """Load a saved model as a collecting process does, then score `count` posts."""
    base_rss = rss_mb()
    started = time.perf_counter()
    from monitor.testimonies import safeguarding
    from monitor.testimonies import model as testimony_model
    from monitor.testimonies.signals import DEFAULT_SIGNALS, compile_signals

    model = testimony_model.load(path)
    signals = compile_signals(DEFAULT_SIGNALS)
    testimony_model.embed(["warm up"])
    safeguarding.identifying_details("my son Leo is 7")  # loads both name lists
    load_seconds = time.perf_counter() - started
    print(f"load in a fresh process (imports, model file, embedding weights, name lists): {load_seconds:.2f} s "
          f"(target < 2 s), {rss_mb() - base_rss:.0f} MB")

    texts = [r["text"] for r in testimony_model.shipped_corpus()]
    rng = random.Random(3)
    posts = [rng.choice(texts) + f" #{rng.choice(['AspireNotToExclude', 'send', 'nurture'])} {n}"
             for n in range(count)]
    started = time.perf_counter()
    for offset in range(0, len(posts), 2000):  # the batch score_posts uses
        batch = posts[offset:offset + 2000]
        features, _ = testimony_model.featurize(batch, signals)
        model.probabilities(features)
        for text in batch:
            safeguarding.identifying_details(text)
    elapsed = time.perf_counter() - started
    print(f"scoring on one core (embedding, signals, classifier, safeguarding): {len(posts) / elapsed:,.0f} posts/s "
          f"(target 2,000) over {len(posts):,} posts")
    peak = peak_mb()
    print(f"RSS added by loading and scoring: {rss_mb() - base_rss:.0f} MB (target < 300 MB); peak RSS: scoring "
          f"process {peak:.0f} MB, training process {parent_peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
