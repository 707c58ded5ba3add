"""What pictures and videos say: the text on a poster, the captions burnt into a video.

The campaign asks for selfies holding a poster and short videos. A testimony written on a
poster never reaches a post's text, so it could not be found, scored or flagged. This
module reads it with RapidOCR (PP-OCR detection and recognition models shipped inside the
`rapidocr` wheel, run by onnxruntime: nothing is downloaded) and, for videos, samples
frames with PyAV (FFmpeg inside its wheel) and merges the lines that stay on screen into
a caption track with times.

Everything here reads a file the archive already stores, and is handed pixels, never a
path or URL: RapidOCR fetches a string that looks like a URL, and FFmpeg follows the
segments of a playlist, so both would reach the network behind the media guard's back.
FFmpeg is also held to the `file` protocol for the same reason.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from monitor.testimonies.faces import faces_in

MAX_SIDE = 2000  # larger pictures are scaled down first: a poster stays legible, time stays bounded
MAX_PIXELS = 60_000_000  # a picture claiming more is refused before it is decoded (a decompression bomb)
DETECT_SIDE = 1280  # the detector sees at most this many pixels a side (RapidOCR's default: at least 736)
# a video frame is read at this size: captions are made to be read on a phone, and a 30 s
# video read at 1280 took 20 s on one core, at 640 under 10 s (benchmarks/media_text.py)
VIDEO_SIDE = 640
MIN_CONFIDENCE = 0.5  # lines the recogniser is less sure of are left out
SAME_CAPTION = 0.8  # two frames' lines this alike (difflib ratio) are one caption still on screen
WORD = re.compile(r"\w")  # a "line" of fewer than two letters or digits is a shape, not text (a face read as "O")


class Unreadable(Exception):
    """The file is not a picture or video this reader can decode; recorded, retried on a later engine."""


@dataclass(frozen=True)
class Line:
    """One recognised line: its text, the recogniser's confidence and where it was.

    `box` is the line's four corners in the stored file's pixels (a video's frame's);
    `start` and `end` are seconds into a video during which it was on screen.
    """

    text: str
    confidence: float
    box: list[list[float]]
    start: float | None = None
    end: float | None = None


@dataclass
class Reading:
    kind: str  # "image" or "video"
    engine: str
    lines: list[Line] = field(default_factory=list)
    frames: int = 0  # video frames read
    seconds: float | None = None  # how much of a video was read
    truncated: bool = False  # a video longer than the cap or the frame budget: only its start was read
    faces: int | None = None  # a video: the most faces the face check found in one frame read

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def lines_json(self) -> list[dict[str, Any]]:
        return [asdict(line) for line in self.lines]


@lru_cache(maxsize=1)
def engine_name() -> str:
    """What read a file, kept with its reading: a later engine may read it better."""
    from importlib.metadata import version  # deferred with the engine it names

    return f"rapidocr {version('rapidocr')} PP-OCRv6 small, onnxruntime {version('onnxruntime')}"


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr import RapidOCR  # deferred: loading the models takes about a second

    # one thread: the daemon reads beside collection and must not take every core
    # (enlarging a 360-line video frame to 736 made detection three times slower and read no better)
    return RapidOCR(params={"Global.log_level": "error", "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                            "EngineConfig.onnxruntime.inter_op_num_threads": 1, "Det.limit_type": "max",
                            "Det.limit_side_len": DETECT_SIDE})


def _recognise(pixels: Any, min_confidence: float, scale: float = 1.0) -> list[Line]:
    """The lines of one BGR picture, top to bottom; boxes times `scale`, so that they are in
    the stored file's pixels whatever size it was read at."""
    with _lock:  # one engine, one caller at a time (onnxruntime sessions are, RapidOCR's state is not)
        result = _engine()(pixels)
    if result.txts is None:
        return []
    return [Line(" ".join(str(text).split()), round(float(score), 4), [[round(float(v) * scale, 1) for v in point]
                                                                  for point in box])
            for text, score, box in zip(result.txts, result.scores, result.boxes)
            if float(score) >= min_confidence and len(WORD.findall(str(text))) >= 2]


def _pixels(path: Path) -> tuple[Any, float]:
    """The picture as BGR pixels, turned the way its EXIF says and no larger than MAX_SIDE, and
    how many of the file's pixels one of them is."""
    import numpy as np  # deferred with the engine
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Unreadable(f"{image.width}x{image.height} pixels, over the {MAX_PIXELS:,}-pixel cap")
            side = max(image.size)
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced size straight away
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            return np.ascontiguousarray(np.asarray(image)[:, :, ::-1]), side / max(image.size)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError) as e:
        raise Unreadable(f"not a picture that can be decoded: {e}") from None


def read_image(path: Path, min_confidence: float = MIN_CONFIDENCE) -> Reading:
    pixels, scale = _pixels(path)
    return Reading("image", engine_name(), _recognise(pixels, min_confidence, scale))


def _same(a: str, b: str) -> bool:
    a, b = _normal(a), _normal(b)
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= SAME_CAPTION


def _normal(text: str) -> str:
    return re.sub(r"[^\w]+", " ", text.lower()).strip()


def merge_captions(frames: list[tuple[float, list[Line]]], step: float) -> list[Line]:
    """Lines read in successive frames, as a caption track: a line still on screen in the next
    sample extends its caption (its best-read wording kept); one that goes ends it."""
    track: list[Line] = []
    open_: list[int] = []  # indexes into track of the captions on screen at the last sample
    for t, lines in frames:
        still: list[int] = []
        for line in lines:
            match = next((i for i in open_ if i not in still and _same(track[i].text, line.text)), None)
            if match is None:
                track.append(Line(line.text, line.confidence, line.box, round(t, 2), round(t + step, 2)))
                still.append(len(track) - 1)
                continue
            old = track[match]
            best = line if line.confidence > old.confidence else old
            track[match] = Line(best.text, best.confidence, best.box, old.start, round(t + step, 2))
            still.append(match)
        open_ = still
    return sorted(track, key=lambda line: (line.start or 0, line.box[0][1] if line.box else 0))


def read_video(path: Path, *, per_second: float, max_frames: int, max_seconds: float,
               min_confidence: float = MIN_CONFIDENCE, progress: Callable[[int, int], None] | None = None) -> Reading:
    """Sample `per_second` frames a second from the start, up to `max_seconds` of video and
    `max_frames` frames, and read each: the cost of a video is bounded by the config, not its length."""
    import av  # deferred: only videos need FFmpeg
    import numpy as np

    step = 1.0 / per_second
    frames: list[tuple[float, list[Line]]] = []
    reading = Reading("video", engine_name())
    budget = min(max_frames, int(max_seconds * per_second) + 1)
    try:
        # the file protocol only: a playlist or a concat file must not send FFmpeg to the network
        with av.open(str(path), options={"protocol_whitelist": "file"}) as container:
            if not container.streams.video:
                raise Unreadable("no video stream in the file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            duration = float(container.duration / av.time_base) if container.duration else None
            due = 0.0
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else due
                if t > max_seconds or len(frames) >= budget:
                    reading.truncated = True
                    break
                if t + 1e-6 < due:
                    continue
                image = frame.to_image()
                image.thumbnail((VIDEO_SIDE, VIDEO_SIDE))
                frames.append((t, _recognise(np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1]),
                                             min_confidence, max(frame.width, frame.height) / max(image.size))))
                # a selfie video shows its speaker: the frames read go through the pictures' face check
                reading.faces = max(reading.faces or 0, faces_in(np.asarray(image.convert("L"))))
                due = t + step
                if progress:
                    progress(len(frames), budget)
            reading.seconds = round(min(max_seconds, duration or due), 2)
            if duration and duration > max_seconds:
                reading.truncated = True
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise Unreadable(f"not a video that can be decoded: {e}") from None
    reading.frames = len(frames)
    reading.lines = merge_captions(frames, step)
    return reading
