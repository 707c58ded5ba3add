"""What every collector shares: credentials from the environment and a forgiving transform loop."""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

from monitor.core.records import MALFORMED, Notice, Post, Reject

T = TypeVar("T")


def env_pair(first: str, second: str, environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """Two credentials from the environment (never from config or archive), or None if either is unset."""
    environ = os.environ if environ is None else environ
    a, b = environ.get(first), environ.get(second)
    return (a, b) if a and b else None


TRANSFORM_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def transform_each(items: list[Any], transform: Callable[[Any], "Post"], describe: str,
                   ident: Callable[[Any], Any]) -> tuple[list["Post"], list[Reject], list[Notice]]:
    """Each item through `transform`; a malformed one becomes a Reject and a warning naming it.

    One bad status (no `uri`, `tags` as a number, `account` missing) must not fail the
    page it came in, or the source would stop at that page on every run.
    """
    posts, rejects = [], []
    for item in items:
        try:
            posts.append(transform(item))
        except TRANSFORM_ERRORS as e:
            try:
                name = ident(item)
            except TRANSFORM_ERRORS:
                name = None
            rejects.append(Reject(item, f"{type(e).__name__}: {e}", str(name) if name is not None else None))
    warnings = [Notice(MALFORMED, f"{describe}: skipped a malformed item ({r.ident or 'no id'}: {r.reason}); "
                       "its payload is kept in rejected_items") for r in rejects]
    return posts, rejects, warnings




def lazy(make: Callable[[], T]) -> Callable[[], T]:
    """Make a source's client once, in its own thread, on first use; its streams share it."""
    made: list[T] = []

    def get() -> T:
        if not made:
            made.append(make())
        return made[0]

    return get
