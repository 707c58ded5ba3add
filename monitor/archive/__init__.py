"""The archive layer: the only code that writes the SQLite file.

Schema and views come from `migrations`; `db` opens the file and holds the writer of pages
and runs; `posts`, `media` and `reviews` write their own tables. Everything above this
layer (collectors, testimonies, the pipeline, reports, the CLI) reads through views or
calls these functions, and never runs INSERT, UPDATE or DELETE itself.
"""

from monitor.archive.db import (
    APPLICATION_ID,
    ArchiveError,
    Writer,
    finish_run,
    get_cursor,
    open_archive,
    record_job,
    record_source_result,
    save_page,
    save_pages,
    save_refresh,
    start_run,
    write_transaction,
)

__all__ = [
    "APPLICATION_ID", "ArchiveError", "Writer", "finish_run", "get_cursor", "open_archive",
    "record_job", "record_source_result", "save_page", "save_pages", "save_refresh", "start_run", "write_transaction",
]
