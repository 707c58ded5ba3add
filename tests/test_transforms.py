"""Each platform's transform on JSON captured from its API: pure functions, no server needed."""

from __future__ import annotations

import json
from pathlib import Path

from collectors.bluesky.transform import transform_post
from collectors.mastodon.transform import transform_status
from collectors.reddit.transform import transform_submission

DATA = Path(__file__).parent / "fakes" / "data"


def captured(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_a_mastodon_status_becomes_a_post_keyed_by_its_activitypub_uri():
    raw = captured("mastodon_status_example.json")
    post = transform_status(raw)
    assert post.key == raw["uri"] and post.local_id == raw["id"]
    assert post.author.handle == "gargron@mastodon.social"  # a local account gets its instance's domain
    assert post.created_at == "2019-12-08T03:48:33.901000+00:00"
    assert post.text.startswith('"I lost my inheritance with one wrong digit on my sort code"')
    assert "<p>" not in post.text and "&quot;" not in post.text
    assert post.likes == raw["favourites_count"] and post.raw is raw


def test_a_reddit_submission_becomes_a_post_keyed_by_its_fullname():
    raw = captured("reddit_submission.json")
    post = transform_submission(raw, "https://www.reddit.com")
    assert post.key == "t3_1kh35wk" and post.platform == "reddit"
    assert post.url == "https://www.reddit.com/r/Teachers/comments/1kh35wk/Teachers_title/"
    assert post.text.startswith("Test Title") and "Testing **PRAW**" in post.text
    assert post.created_at.startswith("2025-05-07T") and post.edited_at is None


def test_a_bluesky_post_view_takes_its_hashtags_from_facets_and_text():
    view = {
        "uri": "at://did:plc:abc/app.bsky.feed.post/3m000000001", "cid": "bafyreig1",
        "author": {"did": "did:plc:abc", "handle": "Teacher.bsky.social", "displayName": "Teacher"},
        "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-11-02T09:00:00.000Z", "langs": ["en"],
                   "text": "Calm space kept him in school #AspireNotToExclude #SEND",
                   "facets": [{"index": {"byteStart": 30, "byteEnd": 49},
                               "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "AspireNotToExclude"}]}]},
        "replyCount": 1, "repostCount": 2, "likeCount": 5, "quoteCount": 0, "indexedAt": "2026-11-02T09:00:02.000Z",
    }
    post = transform_post(view, followers=42)
    assert post.key == view["uri"] and post.revision == "bafyreig1"
    assert post.author.handle == "teacher.bsky.social" and post.author.followers_count == 42
    assert set(post.hashtags) == {"aspirenottoexclude", "send"}
    assert post.url == "https://bsky.app/profile/Teacher.bsky.social/post/3m000000001"


def test_a_reddit_gallery_brings_each_picture_with_its_caption():
    raw = {**captured("reddit_submission.json"), "is_gallery": True, "is_self": False,
           "url": "https://www.reddit.com/gallery/1kh35wk",
           "gallery_data": {"items": [{"media_id": "abc", "id": 1, "caption": "Our nurture room's calm corner"},
                                      {"media_id": "def", "id": 2}]},
           "media_metadata": {"abc": {"status": "valid", "e": "Image", "m": "image/jpg",
                                      "s": {"u": "https://preview.redd.it/abc.jpg?width=1080&amp;s=1f2", "x": 1080}},
                              "def": {"status": "failed"}}}
    post = transform_submission(raw, "https://www.reddit.com")
    assert post.media == [{"type": "image", "url": "https://preview.redd.it/abc.jpg?width=1080&s=1f2",
                           "description": "Our nurture room's calm corner"}]


def test_a_bluesky_pictures_alt_text_is_what_the_post_s_pictures_say_at_once():
    from monitor.archive.media_text import described

    view = {
        "uri": "at://did:plc:abc/app.bsky.feed.post/3m000000002", "cid": "bafyreig2",
        "author": {"did": "did:plc:abc", "handle": "teacher.bsky.social"},
        "record": {"$type": "app.bsky.feed.post", "createdAt": "2026-11-02T09:00:00.000Z", "text": "#AspireNotToExclude"},
        "embed": {"$type": "app.bsky.embed.images#view", "images": [
            {"thumb": "https://cdn.example/t.jpg", "fullsize": "https://cdn.example/f.jpg",
             "alt": "A poster: nurture kept me in school"}]},
        "indexedAt": "2026-11-02T09:00:02.000Z",
    }
    post = transform_post(view, followers=1)
    assert described(post.media) == "A poster: nurture kept me in school"
