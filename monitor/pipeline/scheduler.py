"""`campaign-monitor run`: collect every platform on its interval, unattended, for weeks.

APScheduler 3 runs one job per platform (and the weekly report job). Its job store is
the scheduler's memory; what must survive a restart lives in the archive's `schedule`
table: when each job last ran. At start every job's next run is computed from that, so
after downtime a job that missed runs runs once at once (not zero times, not once per
missed run), and a job that is not due waits for its time.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import threading
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.archive import fixity, open_archive, record_job
from monitor.archive.lock import ArchiveLock
from monitor.core.clock import to_utc_iso, utc_now
from monitor.core.config import Config
from monitor.core.records import GAP, Notice
from monitor.pipeline import live
from monitor.pipeline.collect import run_collection, run_status
from monitor.pipeline.followup import after_collection, score_collected
from monitor.pipeline.refresh import run_refresh

log = logging.getLogger("campaign_monitor.run")


def next_run(last_run_at: datetime | None, trigger: Any, now: datetime) -> datetime:
    """When a job runs next, given when it last ran: missed runs collapse into one, now."""
    due = trigger.get_next_fire_time(None, last_run_at or now)
    if isinstance(trigger, IntervalTrigger):
        due = now if last_run_at is None else last_run_at + trigger.interval
    return max(due, now) if due is not None else now


def _last_runs(db) -> dict[str, datetime]:
    """When each job last ran to its end; an interrupted run counts as not run, so it is redone."""
    return {
        row["job"]: datetime.fromisoformat(row["last_run_at"])
        for row in db.query("SELECT job, last_run_at FROM schedule"
                            " WHERE last_run_at IS NOT NULL AND last_status IS NOT 'interrupted'")
    }


def setup_logging(config: Config) -> None:
    """stderr always; a rotating file when [schedule] log_file says so. Never a token:
    nothing logged includes request headers or credentials."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if config.schedule.log_file:
        handlers.append(logging.handlers.RotatingFileHandler(
            config.schedule.log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "httpx", "httpcore", "urllib3", "prawcore"):  # a line per request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)


# The weekly report job, handed in by the command line: reports sit above the pipeline,
# which only knows that the job returns a one-line summary.
ReportJob = Callable[[Config], str]
# The alert check and the review digest, handed in the same way ([alerts] in the config).
AlertJobs = tuple[Callable[[Config], str], Callable[[Config], str]]


class Daemon:
    def __init__(self, config: Config, report: ReportJob, stream: bool = False, alerts: AlertJobs | None = None):
        self.config = config
        self.report_job = report
        self.alert_jobs = alerts if config.alerts.enabled else None
        self.stream = stream or config.schedule.stream  # also follow the platforms' streams (monitor.pipeline.live)
        self.scheduler: BackgroundScheduler | None = None
        self.zone = ZoneInfo(config.schedule.timezone)
        self.stop = threading.Event()  # collections stop at their next page boundary
        self.stopping = threading.Event()  # the main thread's signal to shut down

    def jobs(self) -> list[tuple[str, Any, Callable[[], tuple[str, str]]]]:
        jobs = [
            (f"collect:{platform}", IntervalTrigger(seconds=self.config.schedule.collect_every, timezone=self.zone),
             lambda platform=platform: self.collect(platform))
            for platform in self.config.platforms
        ]
        jobs.append(("refresh", IntervalTrigger(seconds=self.config.schedule.refresh_every, timezone=self.zone),
                     self.refresh))
        jobs.append(("verify", IntervalTrigger(seconds=self.config.schedule.verify_every, timezone=self.zone),
                     self.verify))
        hour, minute = self.config.schedule.report_time.split(":")
        jobs.append(("report", CronTrigger(day_of_week=self.config.schedule.report_day, hour=int(hour),
                                           minute=int(minute), timezone=self.zone), self.report))
        if self.alert_jobs:
            check, digest = self.alert_jobs
            jobs.append(("alerts", IntervalTrigger(seconds=self.config.alerts.check_every, timezone=self.zone),
                         lambda: ("ok", self.scored(check))))
            if self.config.alerts.reviewers:
                hour, minute = self.config.alerts.digest_time.split(":")
                jobs.append(("digest", CronTrigger(hour=int(hour), minute=int(minute), timezone=self.zone),
                             lambda: ("ok", self.scored(digest))))
        return jobs

    def scored(self, job: Callable[[Config], str]) -> str:
        """Score what the streams brought first: an alert shows only posts checked for safeguarding."""
        db = open_archive(self.config.archive)
        try:
            score_collected(self.config, db)
        finally:
            db.close()
        return job(self.config)

    def collect(self, platform: str) -> tuple[str, str]:
        db = open_archive(self.config.archive)
        try:
            outcomes = run_collection(self.config, db, platforms=[platform], stop=self.stop,
                                      command=f"run collect:{platform}")
            if not self.stop.is_set():
                after_collection(self.config, db)
        finally:
            db.close()
        for o in outcomes:  # warnings were logged as they happened
            for error in o.errors:
                log.error("%s %s: %s", platform, o.source, error)
            if o.skipped:
                log.warning("%s: %s", platform, o.skipped)
        summary = (f"{sum(o.new for o in outcomes)} new, {sum(o.updated for o in outcomes)} updated, "
                   f"{sum(o.requests for o in outcomes)} requests, {sum(len(o.warnings) for o in outcomes)} warnings"
                   + "".join(f"; {e}" for o in outcomes for e in o.errors))
        return run_status(outcomes, self.stop.is_set()), summary

    def refresh(self) -> tuple[str, str]:
        db = open_archive(self.config.archive)
        try:
            outcomes = run_refresh(self.config, db, stop=self.stop, command="run refresh")
        finally:
            db.close()
        for o in outcomes:
            for error in o.errors:
                log.error("refresh %s %s: %s", o.platform, o.source, error)
        summary = (f"{sum(o.updated for o in outcomes)} updated, {sum(o.requests for o in outcomes)} requests, "
                   f"{sum(len(o.warnings) for o in outcomes)} deletions or warnings")
        return run_status(outcomes, self.stop.is_set()), summary

    def verify(self) -> tuple[str, str]:
        """The archive's fixity, logged in fixity_events; the weekly report says when and how it went."""
        db = open_archive(self.config.archive)
        try:
            checks = fixity.verify_and_record(db, self.config.archive)
        finally:
            db.close()
        problems = [f"{c.name}: {obj}: {why}" for c in checks for obj, why in c.failures]
        for line in problems[:20]:
            log.error("verify: %s", line)
        return ("failed" if problems else "ok",
                f"{sum(c.checked for c in checks):,} objects checked, {len(problems)} problems")

    def report(self) -> tuple[str, str]:
        """The last full week's report, mailed when [report] email_to is set."""
        return "ok", self.report_job(self.config)

    def on_stream_notice(self, platform: str, notice: Notice) -> None:
        """A stream that could not replay its gap: the platform's poll runs at once to fill it."""
        if notice.kind == GAP and self.scheduler is not None and not self.stopping.is_set():
            self.scheduler.modify_job(f"collect:{platform}", next_run_time=datetime.now(timezone.utc))

    def _run_job(self, trigger: Any, job: str, body: Callable[[], tuple[str, str]]) -> None:
        # Not scheduler.get_job(): shutdown holds the scheduler's lock while it waits for
        # this very job, so asking the scheduler from here would deadlock a SIGTERM.
        now = datetime.now(timezone.utc)
        upcoming = (now + trigger.interval if isinstance(trigger, IntervalTrigger)
                    else trigger.get_next_fire_time(None, now))
        started = utc_now()
        log.info("%s: started", job)
        try:
            status, summary = body()
        except Exception as e:  # the daemon keeps going whatever one job does
            log.exception("%s: failed", job)
            status, summary = "failed", f"internal error: {e!r}"
        log.info("%s: %s (%s)", job, status, summary)
        db = open_archive(self.config.archive)
        try:
            record_job(db, job, last_run_at=started, last_status=status, last_summary=summary,
                   next_run_at=to_utc_iso(upcoming) if upcoming and not self.stopping.is_set() else None)
        finally:
            db.close()

    def run(self) -> int:
        """Run until SIGTERM or Ctrl-C; return the exit code."""
        with ArchiveLock(self.config.archive, "run"):
            db = open_archive(self.config.archive)
            scheduler = BackgroundScheduler(
                timezone=self.zone,
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            )
            now = datetime.now(timezone.utc)
            last = _last_runs(db)
            for job, trigger, body in self.jobs():
                when = next_run(last.get(job), trigger, now)
                scheduler.add_job(self._run_job, trigger, args=(trigger, job, body), id=job, next_run_time=when)
                record_job(db, job, next_run_at=to_utc_iso(when), pid=os.getpid())
                log.info("%s: next run %s", job, when.astimezone(self.zone).isoformat(timespec="seconds"))
            db.close()
            previous = {sig: signal.signal(sig, lambda *_: self.stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
            self.scheduler = scheduler
            scheduler.start()
            streams = live.start(self.config, self.stop, self.on_stream_notice) if self.stream else []
            try:
                while not self.stopping.wait(1):
                    pass
                log.info("stopping: finishing the page in hand")
                self.stop.set()
                scheduler.shutdown(wait=True)
                for thread in streams:
                    thread.join(30)
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
            log.info("stopped")
        return 0

