"""Scoring a post as a testimony (how nurture helped), with the phrases that made the score.

A testimony tells of an intervention, from experience, with an outcome. Each kind of
signal adds to the score once, whatever the number of phrases of that kind; calls to
action take away; a post that is little more than its hashtags scores nothing. The
phrases are regular expressions, case-insensitive, configurable in [testimonies].
Safeguarding looks for a child who could be identified: a first name next to school or
age words, or a named school next to a pupil.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_SIGNALS: dict[str, list[str]] = {
    "intervention": [
        r"nurture (group|room|provision|class|base|unit|approach|principles|practitioner|lead)s?",
        r"boxall( profile)?", r"key adult", r"breakfast club", r"calm (space|corner|room|box)",
        r"safe space", r"\belsa\b", r"emotional literacy", r"thrive approach", r"sensory room",
        r"small (group|class) (work|support|every morning)",
    ],
    "experience": [
        r"\bmy (son|daughter|child|kids?|boy|girl|pupils?|class|students?|grandson|granddaughter)\b",
        r"\bour (school|pupils|children|class|nurture|son|daughter|kids)\b", r"\bin my (class|school|classroom)\b",
        r"\bi (teach|taught|run|ran|work|worked|lead|led|saw|watched|remember|was)\b",
        r"\bas a (teacher|parent|mum|dad|senco|head ?teacher|ta|teaching assistant|pupil)\b",
        r"\b\d+ years (of )?(teaching|practice|experience|in (the )?classroom)\b", r"\bwhen i was\b",
        r"\bi('ve| have) seen\b", r"\bwe (saw|watched|have seen)\b",
    ],
    "outcome": [
        r"(stayed|stay|staying|kept (him|her|them|me|us|[a-z]+)) in (school|class|mainstream)",
        r"(not|never|wasn't|weren't|avoided|avoid|no longer at risk of being) (been )?excluded",
        r"avoided (an )?exclusion", r"attendance (went up|is up|improved|rose|up)",
        r"behaviou?r (improved|has improved|got better|turned around)", r"exclusions? (down|fell|dropped|halved)",
        r"back in (class|school|the classroom)", r"turned (his|her|their|my) (life|year|behaviou?r) around",
        r"(is|are|now) thriving", r"made (friends|a friend)", r"(sits|sat) (gcses|exams|sats)",
        r"(reintegrated|returned to) (mainstream|class|full[- ]time)", r"zero exclusions", r"no exclusions",
    ],
    "call_to_action": [
        r"join (the|our) campaign", r"download (the|our) (poster|toolkit|pack)", r"sign (the|our) petition",
        r"please (share|retweet|rt|boost)", r"\bshare (this|your story)\b", r"register (now|here|today)",
        r"sign up", r"find out more", r"tickets", r"webinar", r"(event|conference) (on|this)",
        r"add your (voice|name)", r"use the hashtag",
    ],
}
WEIGHTS = {"intervention": 2.0, "experience": 1.5, "outcome": 2.0, "call_to_action": -2.5}
DEFAULT_THRESHOLD = 3.5

CHILD_WORDS = r"(?i:son|daughter|boy|girl|pupil|child|student|grandson|granddaughter|little one)"
NAME = r"[A-Z][a-z]{2,}"
NOT_NAMES = {"The", "Our", "His", "Her", "Their", "This", "That", "She", "They", "When", "What", "Year",
             "School", "Nurture", "Today", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Boxall",
             "Miss", "Mrs", "Sir", "Head", "Mum", "Dad", "And", "But", "Now", "After", "Before", "Then"}
SAFEGUARDING = [
    ("a child's name with their age", rf"\b({NAME})\s*(,\s*)?(\(\d{{1,2}}\)|(?i:aged?) \d{{1,2}}|who is \d{{1,2}}|is \d{{1,2}}\b)"),
    ("a child's name with their year group", rf"\b({NAME}) (?i:is |was |in |from |started )?(?i:year|yr|reception)\s*\d{{0,2}}"),
    ("a child named by a relation", rf"\b(?i:my|our|a|the) {CHILD_WORDS},? ({NAME})\b"),
    ("a named school with a pupil", rf"\b((?:{NAME} )+(?:Primary|Academy|School|Junior|Infants?|High|College))\b"
                                    rf"(?=.*\b{CHILD_WORDS}s?\b)"),
]


@dataclass
class Assessment:
    score: float
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def candidate(self, threshold: float) -> bool:
        return self.score >= threshold


def compile_signals(signals: dict[str, list[str]]) -> dict[str, list[re.Pattern[str]]]:
    return {kind: [re.compile(p, re.IGNORECASE) for p in phrases] for kind, phrases in signals.items()}


def _substance(text: str) -> int:
    """Words left once hashtags, mentions and links are taken out."""
    bare = re.sub(r"(#\w+|@[\w.@-]+|https?://\S+)", " ", text)
    return len(re.findall(r"[A-Za-z']{2,}", bare))


def assess(text: str, signals: dict[str, list[re.Pattern[str]]]) -> Assessment:
    result = Assessment(0.0)
    if _substance(text) < 6:
        result.reasons.append("only hashtags, mentions or links")
        return result
    for kind, patterns in signals.items():
        hits = [m.group(0) for p in patterns if (m := p.search(text))]
        if hits:
            result.score += WEIGHTS.get(kind, 1.0)
            result.reasons += [f"{kind.replace('_', ' ')}: '{h.lower()}'" for h in hits]
    for label, pattern in SAFEGUARDING:
        for match in re.finditer(pattern, text):
            name = match.group(1).strip()
            if name.split()[0] not in NOT_NAMES:
                result.flags.append(f"{label}: '{match.group(0).strip()}'")
                break
    return result
