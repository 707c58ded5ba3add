"""The default testimony phrases and threshold: what [testimonies] holds when the config is silent.

They are configuration defaults, so they live in the core where the config is read; the
scorer (`monitor.testimonies.signals`) compiles and matches them. Changing them changes
the shipped model's inputs: rebuild it with `python scripts/train_shipped_model.py`.
"""

from __future__ import annotations

DEFAULT_SIGNALS: dict[str, list[str]] = {
    "intervention": [
        r"nurture (group|room|provision|class|base|unit|approach|principles|practitioner|lead|teacher|staff|sessions?)s?",
        r"boxall( profile)?", r"key (adult|worker)", r"breakfast club", r"calm (space|corner|room|box)",
        r"safe (space|place)", r"\belsa\b", r"emotional literacy", r"thrive (approach|room)", r"sensory room",
        r"small (group|class|nurture)", r"\bmentor\b", r"inclusion (room|team|hub|base)", r"\bthe (hub|base)\b",
        r"learning support", r"quiet (room|base|space)", r"\bcounsell?or\b", r"reintegration",
    ],
    "experience": [
        r"\bmy (son|daughter|child|kids?|boy|girl|lad|pupils?|class|students?|grandson|granddaughter|nephew|niece)\b",
        r"\bour (school|pupils|children|class|nurture|son|daughter|kids|boy|girl|eldest|youngest)\b",
        r"\bin my (class|school|classroom|caseload)\b",
        r"\bi (teach|taught|run|ran|work|worked|lead|led|saw|watched|remember|was|used to|got|support)\b",
        r"\bas a (teacher|parent|mum|dad|senco|head ?teacher|ta|teaching assistant|pupil|grandmother|grandparent|"
        r"social worker|psychologist|mentor)\b",
        r"\b\d+ (years|yrs) (of )?(teaching|practice|experience|in (the )?classroom)\b", r"\bwhen i was\b",
        r"\bi('ve| have) (seen|watched)\b", r"\bwe (saw|watched|have seen)\b", r"\bi'm (a|the|now)\b",
    ],
    "outcome": [
        r"(stayed|stay|staying|kept (him|her|them|me|us|[a-z]+)) in (school|class|mainstream)",
        r"(not|never|wasn't|weren't|avoided|avoid|no longer at risk of being) (been )?(excluded|suspended)",
        r"avoided (an )?exclusion", r"attendance (went up|is up|improved|rose|up|has gone)",
        r"behaviou?r (improved|has improved|got better|turned around)", r"exclusions? (down|fell|dropped|halved)",
        r"back in (class|school|the classroom|mainstream)", r"turned (his|her|their|my|it) (life|year|behaviou?r )?around",
        r"(is|are|now) thriving", r"made (friends|a friend)", r"(sits|sat|sitting|passed) (gcses|exams|sats|mocks)",
        r"(reintegrated|returned to) (mainstream|class|full[- ]time)", r"zero exclusions", r"no exclusions",
        r"full[- ]time", r"still (there|here|in school|with us)", r"(doing|done) (well|brilliantly|great)",
    ],
    "before_after": [
        r"\bused to\b", r"\bno longer\b", r"\banymore\b",
        r"\bnow (he|she|they|i|we)\b|\b(he|she|they|i)('s| is| are|'m| am)? now\b",
        r"\bsince (joining|starting|then|september|january|easter|half term|christmas)\b",
        r"\b(last|this) (year|term)\b.*\b(this|now)\b", r"\bfrom .{1,40} to\b", r"\bbefore\b.*\b(after|now)\b",
        r"\b(went|gone) from\b", r"\bturned a corner\b",
    ],
    "none_since": [r"\b(not once|none|zero|no more|never been|hasn't been|haven't been|without a single)\b"],
    "call_to_action": [
        r"join (the|our) campaign", r"download (the|our|it)", r"sign (the|our) petition",
        r"please (share|retweet|rt|boost)", r"\bshare (this|your story)\b", r"register (now|here|today)",
        r"sign up", r"find out more", r"tickets", r"webinar", r"(event|conference) (on|this)",
        r"add your (voice|name)", r"use the hashtag", r"tell (us )?your (story|nurture story)",
    ],
    "advert": [r"\b(apply|hiring|vacancy|salary|closing date|recruiting|wanted|required)\b"],
    "question": [r"\?"],
}
DEFAULT_THRESHOLD = 0.5  # the model's probability a candidate needs
