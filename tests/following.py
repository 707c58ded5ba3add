"""A stream followed as the daemon follows it (`run_collection(live=True)` in a thread), for the
stream tests: start it, watch the archive fill, stop it."""

from __future__ import annotations

import threading
import time

from monitor.archive import open_archive
from monitor.core.config import load_config
from monitor.pipeline.collect import run_collection


class Following:
    """`platform`'s streams followed from the config at `config_path`, until the `with` block ends."""

    def __init__(self, config_path, platform: str):
        self.config = load_config(config_path)
        self.platform = platform
        self.stop = threading.Event()
        self.notices: list = []
        self.outcomes: list = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        db = open_archive(self.config.archive)
        try:
            self.outcomes = run_collection(self.config, db, platforms=[self.platform], stop=self.stop, live=True,
                                           on_notice=lambda platform, notice: self.notices.append(notice))
        finally:
            db.close()

    def __enter__(self) -> "Following":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
