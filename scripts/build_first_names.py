"""Rebuild monitor/data/first_names.txt from the `names-dataset` package (MIT).

Why a derived file: names-dataset keeps every name of 105 countries in one pickle that
takes ~4 s and ~900 MB to load, which no scoring process can afford. Safeguarding needs
only first names common where the campaign's children are, so this keeps the names
ranked within each country's most common (a larger cut for English-speaking countries,
where most posts come from) and writes them one a line. Run it after upgrading
names-dataset:  pip install names-dataset english-words && python scripts/build_first_names.py
"""

from __future__ import annotations

import gzip
import os
import pickle
import re
from pathlib import Path

import names_dataset
from english_words import get_english_words_set

ENGLISH_SPEAKING = {"GB": 6000, "IE": 4000, "US": 6000, "CA": 4000, "AU": 4000, "NZ": 4000, "ZA": 2000, "JM": 2000}
# countries whose names are common among children in UK schools
OTHER = {"IN": 1500, "PK": 1500, "BD": 1000, "NG": 1500, "GH": 1000, "PL": 1500, "RO": 1000, "LT": 800,
         "SO": 800, "TR": 1000, "IT": 1500, "PT": 1000, "ES": 1000, "FR": 1500, "DE": 1500, "AL": 800,
         "BG": 800, "IQ": 800, "SY": 800, "AF": 800, "ER": 500, "SD": 800, "EG": 800, "MA": 800, "DZ": 800,
         "CN": 500, "HK": 1500, "MY": 800, "PH": 1500, "NL": 1000, "SE": 800, "KE": 800, "ZW": 800,
         "UG": 800, "IR": 800, "LV": 800, "SK": 800, "CZ": 800, "HU": 800, "UA": 800, "RU": 800, "BR": 800}
CUT = {**ENGLISH_SPEAKING, **OTHER}
WELL_FORMED = re.compile(r"^[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?$")
# A name that is also an English word ("Is", "Said", "Staff" are in the data, from profiles
# people filled in) is kept only when it is really given to children in English-speaking
# countries ("Will", "Grace", "Ruby").
ENGLISH_NAME_CUT = {"GB": 2000, "US": 1000, "IE": 1000, "AU": 1000, "CA": 1000, "NZ": 1000}
OUT = Path(__file__).resolve().parent.parent / "monitor" / "data" / "first_names.txt"


def main() -> None:
    source = Path(os.path.dirname(names_dataset.__file__)) / "v3" / "first_names.pkl.gz"
    with gzip.open(source) as handle:
        names = pickle.load(handle)
    words = {w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower()}

    def keep(name: str, ranks: dict[str, int]) -> bool:
        if not WELL_FORMED.match(name) or not any(c in CUT and r <= CUT[c] for c, r in ranks.items()):
            return False
        return name.lower() not in words or any(c in ENGLISH_NAME_CUT and r <= ENGLISH_NAME_CUT[c]
                                                for c, r in ranks.items())

    kept = sorted(n for n, info in names.items() if keep(n, info["rank"]))
    header = ("# First names common in the countries of UK school children, derived from names-dataset "
              f"(MIT, https://github.com/philipperemy/name-dataset) and english-words (web2) by "
              f"scripts/build_first_names.py; {len(kept)} names\n")
    OUT.write_text(header + "\n".join(kept) + "\n", encoding="utf-8")
    print(f"wrote {len(kept)} names to {OUT}")


if __name__ == "__main__":
    main()
