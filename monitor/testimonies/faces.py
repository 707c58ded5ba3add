"""Faces in testimonies' pictures: a prompt for a reviewer, never a verdict.

The campaign asks for selfies. A picture with a face may show a child, and no text
check can see that, so every stored image of a candidate or accepted testimony goes
through OpenCV's frontal-face Haar cascade (the file ships in the
opencv-python-headless 4.x wheel). A face flags the post "face in image: check whether
a child is shown"; the reviewer decides. Images that cannot be decoded count as no face
and are logged: they are shown to nobody until a reviewer has seen the post anyway.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.archive import reviews
from monitor.core.config import Config

FACE_LABEL = "face in image: check whether a child is shown"
MAX_SIDE = 1600  # larger pictures are scaled down first: faces stay findable, time stays bounded
log = logging.getLogger("campaign_monitor.faces")


@lru_cache(maxsize=1)
def _cascade() -> Any:
    import cv2  # deferred: OpenCV is large and only this check needs it

    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    if cascade.empty():
        raise RuntimeError("OpenCV's frontal-face cascade is missing (opencv-python-headless 5 ships none; use 4.x)")
    return cascade


def count_faces(path: Path) -> int | None:
    """How many faces the cascade finds; None when the file is not an image OpenCV can read."""
    import cv2  # deferred with the cascade above
    import numpy as np

    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if data.size else None
    if image is None:
        return None
    return faces_in(image)


def faces_in(image: Any) -> int:
    """How many faces the cascade finds in a grey picture (a video's frames come here too)."""
    import cv2  # deferred with the cascade above

    scale = MAX_SIDE / max(image.shape)
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = _cascade().detectMultiScale(cv2.equalizeHist(image), scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return len(found)


def check_faces(db: Database, config: Config) -> int:
    """Look at every stored image not looked at yet; flag the posts whose pictures show a face.
    (A video's frames are looked at as they are read: `monitor.pipeline.reading`.)"""
    root = config.archive.parent
    rows = db.execute("SELECT id, post_id, sha256, path FROM media_files WHERE status = 'stored' AND faces IS NULL"
                      " AND path IS NOT NULL AND mime_type LIKE 'image/%'").fetchall()
    flagged = 0
    for media_id, post_id, sha, path in rows:
        faces = count_faces(root / path)
        if faces is None:
            log.warning("media %s of post %s is not a readable image; no face check", sha, post_id)
        reviews.record_faces(db, media_id, post_id, sha, faces or 0, FACE_LABEL)
        flagged += bool(faces)
    return flagged


def flag_video_faces(db: Database, sha256: str, faces: int) -> int:
    """Record what a video's frames showed on each post carrying it; returns the posts flagged."""
    rows = db.execute("SELECT id, post_id FROM media_files WHERE sha256 = ? AND status = 'stored' AND faces IS NULL",
                      [sha256]).fetchall()
    for media_id, post_id in rows:
        reviews.record_faces(db, media_id, post_id, sha256, faces, FACE_LABEL)
    return len(rows) if faces else 0
