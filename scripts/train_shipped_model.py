"""Rebuild monitor/data/testimony_model.json: the model a new archive starts with.

Why ship a trained model: training embeds the whole corpus and cross-validates it, a few
seconds that every new archive, every test and every fresh collect would otherwise pay.
The model depends only on the shipped corpus, the default phrases and the default
threshold, whose digests it carries; a test fails when they change and this was not run:

    python scripts/train_shipped_model.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor import testimony_model  # noqa: E402
from monitor.testimonies.signals import DEFAULT_SIGNALS, DEFAULT_THRESHOLD, compile_signals  # noqa: E402

OUT = ROOT / "monitor" / "data" / "testimony_model.json"


def main() -> None:
    corpus = testimony_model.shipped_corpus()
    signals = compile_signals(DEFAULT_SIGNALS)
    model = testimony_model.train([r["text"] for r in corpus], [r["testimony"] for r in corpus], signals,
                                  threshold=DEFAULT_THRESHOLD,
                                  inputs=testimony_model.inputs_of(corpus, signals, DEFAULT_THRESHOLD))
    model.save(OUT)
    print(f"wrote {OUT}: model {model.version}, {model.corpus['size']} posts, cross-validated {model.cv}")


if __name__ == "__main__":
    main()
