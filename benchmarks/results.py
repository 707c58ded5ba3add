"""Benchmark results kept as data, so the README's performance tables cannot go stale.

A benchmark run with `--record` writes `benchmarks/results/<name>.json`: the figures it
printed, the date, the machine and the exact command. The README's tables are generated
from those files by cog (`cog -r README.md`), and a test runs `cog --check`, so a table
always says what the last recorded run measured, where and how.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "results"


def peak_mb() -> float:
    """This process's peak resident memory, MB: the kernel's high-water mark of its own memory.

    Not `ru_maxrss`: Linux carries the parent's high-water mark across the exec of a process
    started with `subprocess` (vfork), so a report process started by a benchmark that had
    just built a million-post archive reported the builder's 269 MB instead of its own 189.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not on every platform; where there is no /proc, the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores{' ' + model if model else ''}, {platform.system()} {platform.machine()}, " \
           f"Python {platform.python_version()}"


def add_record_option(parser) -> None:
    parser.add_argument("--record", action="store_true", help="keep the figures for the README (benchmarks/results)")


def record(name: str, rows: list[dict], *, module: str = "", **figures: object) -> Path:
    """Keep a run's rows as `name`.json; `module`: the benchmark that ran, when not `name`."""
    FOLDER.mkdir(exist_ok=True)
    path = FOLDER / f"{name}.json"
    data = {"date": datetime.now(timezone.utc).date().isoformat(), "machine": machine(),
            "command": "python -m benchmarks." + " ".join([module or name, *sys.argv[1:]]).replace(" --record", ""),
            "rows": rows, **figures}
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def load(name: str) -> dict:
    return json.loads((FOLDER / f"{name}.json").read_text())


def table(name: str, columns: dict[str, str]) -> str:
    """A markdown table of a recorded run's rows (`columns`: key -> heading), and where it came from."""
    data = load(name)
    lines = ["| " + " | ".join(columns.values()) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    lines += ["| " + " | ".join(str(row.get(key, "")) for key in columns) + " |" for row in data["rows"]]
    lines += ["", f"Recorded {data['date']} on {data['machine']}, by `{data['command']}`.", ""]
    return "\n".join(lines)
