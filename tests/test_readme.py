"""The README's generated parts are current: what it says of the code comes from the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_generated_parts_metrics_and_recorded_benchmarks_are_current():
    done = subprocess.run([sys.executable, "-m", "cogapp", "--check", "README.md"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"run 'cog -r README.md': {done.stdout}{done.stderr}"
