"""The one HTTP-fault policy that every collector's requests go through.

Client libraries disagree about faults: Mastodon.py raises its own errors, praw others,
atproto others again, and none of them says how long a 429 asked us to wait. So the
policy does not read their exceptions; it reads the HTTP exchange itself, recorded by a
hook on the library's session (`Recorder`), and decides from status and headers:

- 429: wait as long as `Retry-After` (seconds or an HTTP date) or the rate-limit reset
  header says, then try again; give up if that is longer than `max_wait`.
- 5xx, timeouts, refused connections, truncated or malformed bodies: try again with
  exponential backoff, at most `max_attempts` tries in all.
- any other 4xx: give up at once; the source is reported as failed.
- a response that says no requests remain: wait for the reset before the next request.

Giving up raises `SourceError`, so a collector never yields a page it did not get and
the cursor never moves past it.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import parse_qsl, urlsplit

from monitor.core.clock import utc_now
from monitor.core.records import Fetch, SourceError
from monitor.core.sections import HttpPolicy

T = TypeVar("T")
_sleep = time.sleep  # the one place the policy waits; tests replace it to see the waits

SECRET_PARAMS = {"access_token", "token", "password", "client_secret", "refresh_token", "code"}
REMAINING_HEADERS = ("x-ratelimit-remaining", "ratelimit-remaining")
RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset")


@dataclass
class Exchange:
    method: str
    url: str
    status: int | None
    headers: dict[str, str]
    retrieved_at: str
    response: Any = None  # the library's response object, for reading the body as received
    error: str | None = None


class Recorder:
    """Keeps every HTTP exchange of one source, in order, for the policy and for provenance.

    `attach_requests` hooks a `requests.Session` (Mastodon.py, praw); other transports
    call `record` themselves.
    """

    def __init__(self, platform: str, source: str):
        self.platform = platform
        self.source = source
        self.count = 0
        self._pending: list[Exchange] = []
        self._lock = threading.Lock()
        self.last: Exchange | None = None

    def attach_requests(self, session: Any) -> None:
        session.hooks.setdefault("response", []).append(self._on_requests_response)

    def detach_requests(self, session: Any) -> None:
        """Stop recording a session that outlives this recorder (one worker's session, many downloads)."""
        session.hooks["response"].remove(self._on_requests_response)

    def _on_requests_response(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.record(
            response.request.method or "GET",
            response.url,
            response.status_code,
            dict(response.headers),
            response,
        )
        return response

    def record(
        self,
        method: str,
        url: str,
        status: int | None,
        headers: dict[str, str],
        response: Any = None,
        error: str | None = None,
    ) -> Exchange:
        exchange = Exchange(
            method=method,
            url=url,
            status=status,
            headers={k.lower(): v for k, v in headers.items()},
            retrieved_at=utc_now(),
            response=response,
            error=error,
        )
        with self._lock:
            self._pending.append(exchange)
            self.count += 1
            self.last = exchange
        return exchange

    def drain(self) -> list[Fetch]:
        """The exchanges since the last drain, as provenance records."""
        with self._lock:
            pending, self._pending = self._pending, []
        return [self._as_fetch(x) for x in pending]

    def _as_fetch(self, x: Exchange) -> Fetch:
        parts = urlsplit(x.url)
        # a parameter sent more than once (getProfiles' actors, getPosts' uris) keeps every value, in order
        params: dict[str, Any] = {}
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            v = "<redacted>" if k.lower() in SECRET_PARAMS else v
            if k not in params:
                params[k] = v
            elif isinstance(params[k], list):
                params[k].append(v)
            else:
                params[k] = [params[k], v]
        return Fetch(
            platform=self.platform,
            source=self.source,
            method=x.method,
            endpoint=f"{parts.scheme}://{parts.netloc}{parts.path}",
            params=params,
            status=x.status,
            retrieved_at=x.retrieved_at,
            error=x.error,
        )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    now = time.time() if now is None else now
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def parse_reset(value: str | None, server_date: str | None = None) -> float | None:
    """Seconds until a rate-limit window resets.

    Platforms write it three ways: Mastodon an ISO 8601 time, Reddit seconds from now,
    Bluesky a Unix time. An absolute time is measured against the server's own `Date`
    when it sent one, so a skewed local clock does not stretch the wait.
    """
    if not value:
        return None
    value = value.strip()
    reference = time.time()
    if server_date:
        try:
            reference = email.utils.parsedate_to_datetime(server_date).timestamp()
        except (TypeError, ValueError):
            pass
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, when.timestamp() - reference)
    if number > 1_000_000_000:
        return max(0.0, number - reference)
    return max(0.0, number)


def _header(exchange: Exchange, names: Iterable[str]) -> str | None:
    for name in names:
        if name in exchange.headers:
            return exchange.headers[name]
    return None


def rate_limit_wait(exchange: Exchange | None) -> float:
    """How long to pause before the next request because the last said none remain."""
    if exchange is None or exchange.status is None:
        return 0.0
    remaining = _header(exchange, REMAINING_HEADERS)
    try:
        if remaining is None or float(remaining) > 0:
            return 0.0
    except ValueError:
        return 0.0
    reset = parse_reset(_header(exchange, RESET_HEADERS), exchange.headers.get("date"))
    return reset or 0.0


@dataclass
class _Verdict:
    retry: bool
    message: str
    wait: float | None = None
    status: int | None = None


def _in_chain(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _judge(
    exc: Exception,
    exchange: Exchange | None,
    transport_errors: tuple[type[BaseException], ...],
    hints: dict[int, str],
) -> _Verdict:
    """Judge by the response when there is one; libraries chain unrelated earlier errors."""
    if exchange is None or exchange.status is None:
        if not _in_chain(exc, transport_errors):
            raise exc  # not an HTTP fault: a bug, which retrying would only hide
        return _Verdict(True, _network_message(exc))
    status = exchange.status
    if status == 429:
        wait = parse_retry_after(exchange.headers.get("retry-after"))
        if wait is None:
            wait = parse_reset(_header(exchange, RESET_HEADERS), exchange.headers.get("date"))
        return _Verdict(True, "rate limited (HTTP 429)", wait)
    if status >= 500:
        return _Verdict(True, f"server error (HTTP {status})")
    if 200 <= status < 300:
        if _in_chain(exc, (ValueError,)):
            kind = exchange.headers.get("content-type", "no content type").split(";")[0]
            return _Verdict(True, f"malformed response (HTTP {status}, {kind}, not the JSON expected)")
        if _in_chain(exc, transport_errors):
            return _Verdict(True, _network_message(exc))
        return _Verdict(True, f"unusable response (HTTP {status}: {_short(exc)})")
    hint = hints.get(status, "")
    return _Verdict(False, f"HTTP {status}" + (f": {hint}" if hint else ""), status=status)


def _network_message(exc: BaseException) -> str:
    """Name the network fault in a few words instead of urllib3's paragraph."""
    text = str(exc)
    for needle, message in (
        ("timed out", "timed out"),
        ("Timeout", "timed out"),
        ("NameResolution", "host name not found"),
        ("Name or service not known", "host name not found"),
        ("Connection refused", "connection refused"),
        ("IncompleteRead", "response cut off before its end"),
        ("ChunkedEncoding", "response cut off before its end"),
        ("RemoteDisconnected", "connection closed with no response"),
        ("Connection aborted", "connection closed with no response"),
        ("Connection reset", "connection reset"),
    ):
        if needle in text:
            return f"network error: {message}"
    return f"network error ({type(exc).__name__}: {_short(exc)})"


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call(
    fn: Callable[[], T],
    *,
    policy: HttpPolicy,
    recorder: Recorder,
    describe: str,
    transport_errors: tuple[type[BaseException], ...],
    hints: dict[int, str] | None = None,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """Run one API call under the shared policy; return its result or raise SourceError."""
    hints = hints or {}
    sleep = sleep or _sleep
    attempt = 0
    while True:
        attempt += 1
        pause = min(rate_limit_wait(recorder.last), policy.max_wait)
        if pause > 0:
            sleep(pause)
        mark = recorder.count
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - judged below, re-raised if not HTTP
            exchange = recorder.last if recorder.count > mark else None
            verdict = _judge(exc, exchange, transport_errors, hints)
            if exchange is None:
                recorder.record("GET", describe, None, {}, error=verdict.message)
            else:
                exchange.error = verdict.message
            if not verdict.retry:
                raise SourceError(f"{describe}: {verdict.message}", status=verdict.status) from None
            if attempt >= policy.max_attempts:
                raise SourceError(
                    f"{describe}: gave up after {attempt} {'try' if attempt == 1 else 'tries'}: {verdict.message}"
                ) from None
            wait = verdict.wait
            if wait is None:
                wait = policy.backoff * (2 ** (attempt - 1)) * (1 + random.random() / 4)
            if wait > policy.max_wait:
                raise SourceError(
                    f"{describe}: {verdict.message}, asked to wait {wait:.0f}s, "
                    f"more than [http] max_wait = {policy.max_wait:.0f}s"
                ) from None
            if on_retry:
                on_retry(f"{describe}: {verdict.message} (retried)")
            sleep(wait)
