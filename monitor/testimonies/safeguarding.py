"""Safeguarding: could this post identify a child?

Recall comes first. A false flag costs a reviewer one keystroke; a missed one can put a
child's name, age and school in a public report. So a post is flagged when a first name
(in any case: people type "my son leo") stands near anything that narrows it down to one
child: an age, a year group or class, a school, club or town, a family relation, a
possessive ("Maya's first term"), or when initials stand with a school.

Names come from `data/first_names.txt` (derived from the names-dataset package, see
scripts/build_first_names.py). Many names are also English words ("will", "grace",
"ruby"), so a name that is also a dictionary word (web2, from the english-words package)
needs a tighter context before it counts, unless it is written with a capital in the
middle of a sentence. Adults are left alone when the post says so: a title (Mrs Patel,
Councillor Ahmed) or a full name in a sentence about a role (a minister, a head).

A flag records what kind of detail was found and where (character offsets), never the
words themselves: a redaction must be able to remove them from everything but the raw
payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
                "|sixteen|seventeen|eighteen")
AGE = re.compile(
    rf"\b(?:is|was|aged?|turned|turning|now|he's|she's|they're|who's|just)\s+(?:\d{{1,2}}|{NUMBER_WORDS})\b"
    r"(?!\s*(?:%|am\b|pm\b|weeks?|months?|days?|minutes?|mins?|hours?|times?|o'clock|-\d))"
    rf"|\b(?:\d{{1,2}}|{NUMBER_WORDS})\s*(?:yo|y/o|yrs? old|years? old|year-old|-year-old)\b"
    r"|\(\s*(?:age\s*)?\d{1,2}\s*\)|,\s*\d{1,2}\s*,",
    re.IGNORECASE)
YEAR_GROUP = re.compile(
    r"\b(?:year|yr|y)\s?-?\d{1,2}\b|\breception\b|\bnursery\b|\b(?:ks|key stage)\s?\d\b|\bclass\s+[a-z]+\b",
    re.IGNORECASE)
# "3C", and in lower case after a preposition ("ellie in 4b"), but not "2nd", "5k", "3pm"
CLASS_CODE = re.compile(r"\b\d{1,2}[A-Z]{1,2}\b"
                        r"|\b(?i:in|from|of|class)\s+\d{1,2}(?!st|nd|rd|th|am|pm|km|kg|mb|gb|cm|mm|ml)[a-z]{1,2}\b")
SCHOOL_TYPES = ("primary|academy|school|juniors?|infants?|high|college|grammar|nursery|secondary|prep|c of e|ce|rc|"
                "pru|church school|free school")
# "Riverside High", "Oakfield Primary School": a capitalised word that is not a determiner
NAMED_SCHOOL = re.compile(rf"\b((?:[A-Z][\w'’-]+\s+){{1,4}})(?:{SCHOOL_TYPES})\b", re.IGNORECASE)
# "at springfield juniors": lower case, but a word no dictionary holds, after at/to/from
LOWER_SCHOOL = re.compile(rf"\b(?:at|to|from|in)\s+([a-z][\w'’-]+)\s+(?:[a-z]+\s+)?(?:{SCHOOL_TYPES})\b")
SAINT = re.compile(r"\b(?:st|saint)\.?\s+[a-z]+(?:'s|’s)?", re.IGNORECASE)
PLACE = re.compile(r"\b(?:at|from|in|to|near|outside)\s+(?:the\s+)?([A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){0,2})")
LOWER_PLACE = re.compile(r"\b(?:at|from)\s+([a-z][a-z'’-]{3,})\b")
SCHOOL_SCENE = re.compile(r"\b(?:school gates?|school run|first day|last day|playground|classroom|school photo|"
                          r"uniform|first term|last term)\b", re.IGNORECASE)
# "Leah with her dad": whoever stands with a parent is a child
WITH_PARENT = re.compile(r"\b(?:with|and|&)\s+(?:her|his|their)\s+(?:mum|mam|mom|dad|nan|nana|nanna|gran|granny|"
                         r"grandma|grandad|grandpa|parents?|family|carer|foster carer|step-?dad|step-?mum)\b",
                         re.IGNORECASE)
CLUB = re.compile(r"\b[\w'’-]+\s+(?:club|fc|united|rovers|scouts|cubs|brownies|beavers|guides|squad)\b",
                  re.IGNORECASE)
CHILD_RELATIONS = (r"son|daughter|boy|girl|lad|lass|grandson|granddaughter|grandchild|grandkid|brother|sister|"
                   r"nephew|niece|cousin|stepson|stepdaughter|step-son|step-daughter|child|kid|youngest|eldest|"
                   r"oldest|middle one|twins?|baby|little one|godson|goddaughter|foster (?:son|daughter|child)")
# a relation with whose it is ("my son", "her brother"): a child of someone the post points to
RELATION = re.compile(rf"\b(?:my|our|her|his|their|your)\s+(?:little\s+|youngest\s+|eldest\s+|oldest\s+|"
                      rf"middle\s+|great-)?(?:{CHILD_RELATIONS})s?\b", re.IGNORECASE)
# what stands right before a name given by a relation: "son Leo", "grandson Kai", "our Alfie"
RELATION_BEFORE_NAME = re.compile(
    rf"(?:\b(?:{CHILD_RELATIONS})s?,?\s+|\b(?:our|my)\s+(?:(?:little|wee|youngest|eldest|lovely|gorgeous|brave|"
    rf"amazing)\s+)?)$", re.IGNORECASE)
SCHOOL_WORDS = re.compile(r"\b(?:school|class|teacher|term|first day|gate|gates|uniform|assembly|playground|"
                          r"nurture|sats|gcses?|report|award|certificate|residential|trip)\b", re.IGNORECASE)
INITIALS = re.compile(r"\b[A-Z]\.\s?(?:[A-Z]\.?)?(?=[\s,)]|$)|(?<=[a-z] )[A-Z](?=\s+(?:in|from|at|of)\b)")
TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "prof", "professor", "councillor", "cllr", "dame",
          "lord", "lady", "rev", "reverend", "father", "madam", "dear", "auntie", "aunt", "uncle", "coach",
          "president", "minister", "secretary", "king", "queen", "prince", "princess", "saint", "st"}
ADULT_ROLES = re.compile(
    r"\b(?:secretary|minister|mp|mps|professor|head ?teacher|headteacher|head of|principal|senco|ceo|founder|"
    r"councillor|chief|author|speaker|speaking|trustee|director|chair|announced|announces|says|said|visits|"
    r"visited|interview|session|keynote|journalist|presenter|actor|footballer|film|book|podcast|mayor|"
    r"steals|stars|starring)\b",
    re.IGNORECASE)
DETERMINERS = {"the", "our", "my", "your", "his", "her", "their", "a", "an", "this", "that", "every", "each", "local",
               "new", "old", "any", "some", "no", "one", "which", "what", "at", "in", "to", "from", "of", "and",
               "special", "mainstream", "secondary", "primary", "big", "small", "little", "good", "great", "best",
               "first", "last", "next", "same", "different", "another", "state", "independent", "free", "private"}
# words that the name list holds (it is derived from real people's names) but that are
# not names in a post about school, in any case
NOT_NAMES = {
    "the", "and", "but", "so", "if", "to", "in", "on", "at", "of", "for", "by", "with", "as", "me", "my", "we",
    "our", "us", "you", "your", "he", "him", "his", "she", "her", "they", "them", "their", "it", "its", "this",
    "that", "these", "those", "there", "here", "what", "when", "where", "who", "why", "how", "all", "any",
    "some", "no", "not", "yes", "one", "two", "now", "then", "just", "very",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "june", "july", "august", "september", "october", "november", "december",
    "easter", "christmas", "today", "tomorrow", "yesterday", "year", "reception", "nursery", "school",
    "primary", "academy", "class", "group", "nurture", "team", "head", "miss", "sir", "mum", "dad", "mummy",
    "daddy", "nan", "grandma", "grandad", "son", "daughter", "love", "happy", "best", "great", "home", "thank",
    "thanks", "well", "done", "big", "little", "new", "good", "proud", "amazing", "lovely", "brilliant",
    "huge", "shout", "congratulations", "welcome", "god", "lord", "jesus", "christ", "england", "london",
    "british", "english", "uk", "covid", "ofsted", "send", "senco", "ehcp", "adhd", "asd", "pda", "camhs",
    "sats", "gcse", "gcses", "ta", "tas", "elsa", "boxall", "thrive", "hub", "base", "key", "justice",
}
# names that are also everyday words: a name only when written with a capital mid-sentence
LOWER_CASE_WORDS = {"will", "may", "mark", "bill", "art", "pat", "grant", "hope", "joy", "faith", "summer", "sky",
                    "dawn", "eve", "rose", "jack", "frank", "sunny", "honey", "rich", "chase", "hunter", "mason",
                    "page", "victor", "august", "june", "april", "forest", "storm", "rain", "miles", "penny"}
MONTHS = {"may", "june", "april", "august", "january"}
SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\bSt)(?<!\bMr)(?<!\bMrs)(?<!\bDr)[.!?]+\s+|\n+")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
LETTER_RUNS = re.compile("[a-z]+")


@dataclass(frozen=True)
class Flag:
    """One detail that may identify a child: its kind and where it stands in the text."""

    label: str
    start: int
    end: int


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    text = resources.files("monitor").joinpath("data/first_names.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case dictionary words (web2): a name that is also one needs more context."""
    # deferred: 236k words, loaded only when safeguarding runs
    from english_words import get_english_words_set

    return frozenset(w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower())


@dataclass
class _Name:
    start: int
    end: int
    strong: bool
    possessive: bool


@lru_cache(maxsize=1)
def _name_pieces() -> frozenset[str]:
    """Every lower-case run of letters in any name, less the words that are never names."""
    return frozenset(p for n in first_names() for p in re.findall("[a-z]+", n.lower())) - NOT_NAMES


def _names(text: str) -> list[_Name]:
    if _name_pieces().isdisjoint(LETTER_RUNS.findall(text.lower())):
        return []  # a quick look, all in C: no word of the post can be part of a name
    names, words = first_names(), english_words()
    found: list[_Name] = []
    sentence_starts: set[int] | None = None  # worked out at the first name: most posts name nobody
    previous_adult_end = previous_name_end = -10
    for m in WORD.finditer(text):
        token = m.group(0).rstrip("-'’")
        possessive = token.lower().endswith(("'s", "’s"))
        base = token[:-2] if possessive else token
        lower = base.lower()
        if len(base) < 2 or lower in NOT_NAMES or base.capitalize() not in names:
            continue
        if not (base.islower() or base[0].isupper() and base[1:].islower()):
            continue  # ALL CAPS or mIxEd: an acronym or a handle, not a name as people write it
        if text[max(0, m.start() - 1):m.start()] in ("#", "@", "/", "."):
            continue  # a hashtag, a handle or part of an address
        before = text[max(0, m.start() - 16):m.start()].lower().replace(".", " ").split()
        if (before and before[-1] in TITLES) or m.start() - previous_adult_end <= 1:
            previous_adult_end = m.end()  # Mrs Patel; Mr David Jones: an adult, whole name
            continue
        if base[0].isupper() and text[previous_name_end:m.start()] == " ":
            continue  # Gillian Keegan: a surname that is also a first name belongs to the name before it
        previous_name_end = m.end()
        if base.islower() and (len(base) < 3 or lower in LOWER_CASE_WORDS):
            continue
        if lower in MONTHS and re.search(r"\d\s*$", text[max(0, m.start() - 4):m.start()]) or \
                lower in MONTHS and re.match(r"\s*\d", text[m.end():m.end() + 3]):
            continue  # 12 May, April 3: a date
        if sentence_starts is None:
            sentence_starts = {0} | {e.end() for e in SENTENCE_END.finditer(text)}
        mid_sentence = m.start() not in sentence_starts
        strong = lower not in words or (base[0].isupper() and mid_sentence)
        found.append(_Name(m.start(), m.start() + len(token), strong, possessive))
    return found


def _sentence(text: str, pos: int) -> tuple[int, int]:
    start = 0
    for m in SENTENCE_END.finditer(text):
        if m.end() <= pos:
            start = m.end()
        elif m.start() >= pos:
            return start, m.start()
    return start, len(text)


def _is_adult(text: str, name: _Name, sentence: str) -> bool:
    """A full name (a capitalised surname follows) in a sentence about a public role."""
    after = text[name.end:name.end + 30]
    return bool(re.match(r"\s+[A-Z][a-z'’-]+", after)) and bool(ADULT_ROLES.search(sentence)) \
        and not RELATION.search(sentence)


# Details whose case says nothing. Python's IGNORECASE makes a search try every position,
# so these run case-sensitively on the lower-cased text (their sources are lower case).
CASELESS = (("an age", AGE), ("a year group or class", YEAR_GROUP), ("a club or team", CLUB),
            ("a family relation", RELATION), ("a school", SAINT), ("a school scene", SCHOOL_SCENE),
            ("a parent", WITH_PARENT))


@lru_cache(maxsize=None)
def _case_folded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


def _contexts(text: str) -> list[tuple[str, re.Match[str]]]:
    """Every detail in the text that narrows a child down, with its kind."""
    words, names = english_words(), first_names()
    found: list[tuple[str, re.Match[str]]] = [("a class", m) for m in CLASS_CODE.finditer(text)]
    lowered = text.lower()
    folded = len(lowered) == len(text)  # positions hold; else the slow case-insensitive way
    for label, pattern in CASELESS:
        if folded:
            found += [(label, m) for m in _case_folded(pattern).finditer(lowered)]
        else:
            found += [(label, m) for m in pattern.finditer(text)]
    for m in NAMED_SCHOOL.finditer(text):
        if any(w[0].isupper() and w.lower() not in DETERMINERS for w in m.group(1).split()):
            found.append(("a school", m))
    for m in LOWER_SCHOOL.finditer(text):
        if m.group(1) not in words and m.group(1) not in DETERMINERS:
            found.append(("a school", m))
    for m in PLACE.finditer(text):
        if any(w.lower() not in NOT_NAMES | TITLES | DETERMINERS for w in m.group(1).split()):
            found.append(("a school or place", m))
    for m in LOWER_PLACE.finditer(text):
        word = m.group(1)
        if word not in words and word not in NOT_NAMES and word.capitalize() not in names:
            found.append(("a school or place", m))
    return found


def identifying_details(text: str) -> list[Flag]:
    """Every first name that stands with a detail narrowing it down to one child."""
    if not text:
        return []
    names, initials = _names(text), list(INITIALS.finditer(text))
    if not names and not initials and not RELATION.search(text):
        return []  # nobody named, no initials, no relation: nothing here can point to one child
    flags: list[Flag] = []
    contexts = _contexts(text)
    for name in names:
        s_start, s_end = _sentence(text, name.start)
        if _is_adult(text, name, text[s_start:s_end]):
            continue
        named_by_relation = bool(RELATION_BEFORE_NAME.search(text[max(s_start, name.start - 40):name.start]))
        # a name that is also a word ("ruby", sentence-initial "Will") counts only with
        # a detail right beside it; a clear name with one anywhere in its sentence
        lo, hi = (s_start, s_end) if name.strong else (max(s_start, name.start - 12), min(s_end, name.end + 24))
        near = [label for label, m in contexts
                if (m.start() < hi and m.end() > lo or name.strong and label == "a school")
                and not (m.start() <= name.start < m.end())]
        if named_by_relation:
            flags.append(Flag("a child's first name with a family relation", name.start, name.end))
        elif name.possessive and (SCHOOL_WORDS.search(text[name.end:name.end + 40]) or near):
            flags.append(Flag("a child's first name with a possessive", name.start, name.end))
        elif near:
            flags.append(Flag(f"a child's first name with {near[0]}", name.start, name.end))
    for m in initials:
        s_start, s_end = _sentence(text, m.start())
        if any(label in ("a school", "a year group or class", "a class", "a school or place")
               and s_start <= c.start() < s_end for label, c in contexts):
            flags.append(Flag("a child's initials with a school or class", m.start(), m.end()))
    flags += _described_child(text, contexts)
    return _dedupe(flags)


def _described_child(text: str, contexts: list[tuple[str, re.Match[str]]]) -> list[Flag]:
    """No name, but a relation, a named school and an age or year group in one sentence."""
    flags = []
    for start, end in {_sentence(text, m.start()) for label, m in contexts if label == "a school"}:
        kinds = {label for label, m in contexts if start <= m.start() < end}
        if "a family relation" in kinds and kinds & {"an age", "a year group or class", "a class"}:
            flags.append(Flag("a child described by relation, school and age or year", start, end))
    return flags


def _dedupe(flags: list[Flag]) -> list[Flag]:
    seen, kept = set(), []
    for f in sorted(flags, key=lambda f: (f.start, f.end)):
        if (f.start, f.end) not in seen:
            seen.add((f.start, f.end))
            kept.append(f)
    return kept
