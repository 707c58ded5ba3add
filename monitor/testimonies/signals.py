"""The explainable half of testimony scoring: phrases that tell a reviewer *why*.

A testimony tells of support, from experience, with an outcome, often as a change
("he used to hide under the table; now he reads to the class") or a count that fell
("three suspensions last year, none this year"). Each kind of signal below is a list of
case-insensitive regular expressions, configurable in [testimonies]. The signals do not
decide on their own: they are features of the learned scorer (`testimony_model`),
beside sentence embeddings, so a story told in other words is still found, and they
are what `testimonies show` prints beside the model's probability.

A hit is stored as its kind and its character span, never as the words: a redaction
must be able to remove a child's name from everything but the raw payload.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from monitor.core.phrases import DEFAULT_SIGNALS

KINDS = tuple(DEFAULT_SIGNALS)
# The old rule score kept for the reader: how many kinds of evidence a post shows
WEIGHTS = {"intervention": 2.0, "experience": 1.5, "outcome": 2.0, "before_after": 1.0, "none_since": 0.5,
           "call_to_action": -2.5, "advert": -2.0, "question": -0.5}
FIRST_PERSON = re.compile(r"\b(i|my|me|our|we)\b", re.IGNORECASE)
THIRD_PERSON = re.compile(r"\b(he|she|they)('s|'d| is| was| has| had)?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """One phrase of one kind, by position: `text[start:end]` is what matched."""

    kind: str
    start: int
    end: int


@dataclass
class Signals:
    hits: list[Hit] = field(default_factory=list)
    substance: int = 0  # words left once hashtags, mentions and links are taken out

    @property
    def kinds(self) -> set[str]:
        return {h.kind for h in self.hits}

    @property
    def only_tags(self) -> bool:
        """A post that is little more than its hashtags says nothing, whatever a model thinks."""
        return self.substance < 6

    @property
    def rule_score(self) -> float:
        return sum(WEIGHTS.get(k, 1.0) for k in self.kinds)


def _top_level_alternation(pattern: str) -> bool:
    depth, escaped, in_class = 0, False, False
    for c in pattern:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
    return False


@dataclass(frozen=True)
class Phrase:
    """One configured phrase, compiled to be searched fast.

    Python's `re` skips quickly to where a pattern's first letter occurs, but not when the
    pattern starts with `\\b` or is case-insensitive: then it tries every position, and the
    ~100 phrases cost most of the time a post takes to score. So a phrase with no capital
    letter outside its escapes (every default one) runs case-sensitively on the post's
    lower-cased text, and a leading `\\b` is checked by hand on each match, which finds
    exactly what the phrase as written would.
    """

    pattern: str  # as configured
    compiled: re.Pattern[str]
    boundary_first: bool

    @classmethod
    def compile(cls, phrase: str) -> "Phrase":
        flags = re.IGNORECASE if re.search(r"[A-Z]", re.sub(r"\\.|\(\?P?<[^>]*>", "", phrase)) else 0
        rest = phrase[2:] if phrase.startswith("\\b") else None
        if rest and not _top_level_alternation(rest) and not rest.startswith(("*", "+", "?", "{")):
            return cls(phrase, re.compile(rest, flags), True)
        return cls(phrase, re.compile(phrase, flags), False)

    def search(self, lowered: str, case_folded: bool = True) -> re.Match[str] | None:
        compiled = self.compiled if case_folded else _caseless(self.compiled)
        m = compiled.search(lowered)
        while m and self.boundary_first and not _at_boundary(lowered, m.start()):
            m = compiled.search(lowered, m.start() + 1)
        return m


@lru_cache(maxsize=None)
def _caseless(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags | re.IGNORECASE)


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _at_boundary(text: str, pos: int) -> bool:
    """What `\\b` means at `pos`: a word character on one side only."""
    return (pos > 0 and _word(text[pos - 1])) != (pos < len(text) and _word(text[pos]))


def compile_signals(signals: dict[str, list[str]]) -> dict[str, list[Phrase]]:
    return {kind: [Phrase.compile(p) for p in phrases] for kind, phrases in signals.items()}


TAGS_HANDLES_LINKS = re.compile(r"(#\w+|@[\w.@-]+|https?://\S+)")
WORDS = re.compile(r"[A-Za-z']{2,}")


def substance(text: str) -> int:
    return len(WORDS.findall(TAGS_HANDLES_LINKS.sub(" ", text)))


def find_signals(text: str, signals: dict[str, list[Phrase]]) -> Signals:
    found = Signals(substance=substance(text))
    lowered = text.lower()
    folded = len(lowered) == len(text)  # a few letters ("İ") grow when lower-cased: positions would shift
    if not folded:
        lowered = text
    for kind, phrases in signals.items():
        for phrase in phrases:
            # Phrase.search, inlined: this loop runs ~100 times a post
            m = (phrase.compiled if folded else _caseless(phrase.compiled)).search(lowered)
            if m and phrase.boundary_first and not _at_boundary(lowered, m.start()):
                m = phrase.search(lowered, folded)
            if m:
                found.hits.append(Hit(kind, m.start(), m.end()))
    return found


def rule_features(found: Signals, text: str) -> list[float]:
    """What the learned scorer sees of the rules: one value a kind, and the post's voice."""
    kinds = found.kinds
    return [float(k in kinds) for k in KINDS] + [
        float(found.only_tags), math.log1p(found.substance) / 5,
        float(bool(FIRST_PERSON.search(text))), float(bool(THIRD_PERSON.search(text))),
    ]
