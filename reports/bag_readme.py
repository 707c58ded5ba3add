"""README.txt of an exported bag: every file and field, and what was left out and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.core.config import Config

if TYPE_CHECKING:
    from reports.bag import BagCounts

FILES = """\
FILES (under data/)

posts.jsonl - one JSON object per post, in archive id order:
  id                 the post's id in the archive (posts.id)
  platform, source   where it was collected (mastodon instance, subreddit, bluesky service)
  key, url           its identity on the platform and its address (left out when authors are pseudonymised:
                     both name the account)
  author             the handle, or a stable pseudonym (participant-...) when [report] show_authors = false
  created_at         when it was posted (ISO 8601, UTC); edited_at: its last edit, if any
  text               plain text as outputs show it: a reviewer's redaction where there is one (redacted: true);
                     pseudonymised, mentions read "@..." and links to accounts are cut
  media_text         what its pictures say: their descriptions (alt text), then the text read in them (OCR),
                     redacted with the text; media_text in the archive has each line's confidence and box
  content_warning, language, hashtags (lower case, without '#')
  likes, reposts, replies, quotes   engagement as last seen; metrics: what only one platform reports
  version            1 for a post never edited; versions.jsonl holds the earlier ones
  testimony_status   none, candidate, accepted or rejected; flagged: held for safeguarding; consent
  media_sha256       the sha256 of each stored attachment: the file is media/sha256/ab/cd/<sha256>
  first_fetch_id     the request that first brought the post (fetches.jsonl id); first_seen_at
  payload_fetch_id, payload_sha256, payload_digest_origin
                     the request the stored raw payload came from, the sha256 of the payload as stored
                     (its JSON text, UTF-8), and whether that digest was computed when it was fetched
                     ("fetched") or later from what the archive held ("migrated")
  payload            "in fetches.jsonl", or why it was withheld from this bag

versions.jsonl - earlier states of edited posts: post_id, version, text, edited_at, counts, superseded_at,
  raw_fetch_id (the request that state came from), superseded_by_fetch_id, raw (the payload, or "withheld")

fetches.jsonl - every HTTP request that brought a post of this bag: id, platform, source, method, url,
  parameters (secrets removed), retrieved_at, http_status, error, software_version, and items: for each post
  of this bag whose payload came from it, post_id, sha256, digest_origin and raw (the API object exactly as
  received)

media/sha256/ab/cd/<sha256> - each stored attachment of a post in this bag, once, named by its content

testimonies.csv - the testimony register: accepted testimonies with consent, notes and their media's
  sha256 (cells that a spreadsheet would read as formulas are prefixed with ')

bag-info.txt, manifest-sha256.txt, manifest-sha512.txt, tagmanifest-*.txt - BagIt (RFC 8493): check the bag
  with "bagit.py --validate DIR"
"""


def readme_text(config: Config, counts: BagCounts, since: str | None, until: str | None, full: bool) -> str:
    window = f"posted from {since or 'the first post archived'} to {until or 'the last'} (until exclusive)"
    head = [f"Campaign: {config.name}", f"Hashtags: {', '.join('#' + t for t in config.hashtags)}",
            f"Platforms: {', '.join(config.platforms) or 'none configured'}", f"Window: {window}", ""]
    if full:
        head += ["PRESERVATION BAG. This bag holds every live post, including posts flagged because they may",
                 "identify a child, the raw payloads (with the original text of redacted posts) and the authors'",
                 "identities. Keep it under the same access control as the archive itself; do not publish it.", ""]
    else:
        head += ["This bag holds what the campaign's reports may show: posts checked for safeguarding, none flagged",
                 "unless a reviewer accepted it, redactions in place of the original text"
                 + (", authors as pseudonyms." if not config.report.show_authors else "."), ""]
    head += [f"Holds: {counts.posts} posts, {counts.versions} earlier versions, {counts.fetches} requests,"
             f" {counts.media} media files."]
    left = [f"  {n} posts {why}" for why, n in counts.left_out.items() if n]
    if counts.payloads_withheld:
        left.append(f"  {counts.payloads_withheld} raw payloads withheld (they name the author, or hold text a"
                    " reviewer redacted); their sha256 is given, so they can be proved against the archive")
    head += ["", "LEFT OUT, AND WHY", *(left or ["  nothing"]), ""]
    return "\n".join(head) + "\n" + FILES
