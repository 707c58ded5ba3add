"""The project installs whole: every package of the source tree is one the wheel ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_in_the_tree_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("monitor", "collectors", "reports")
             for p in (ROOT / top).rglob("__init__.py")}
    assert found == listed
