"""What pictures and videos say: OCR quality on generated posters, speed and memory on one core.

    python -m benchmarks.media_text [--posters 60] [--seed 7] [--record]

Posters: photos of a hand-held sheet carrying 2-4 lines cut from the held-out testimonies
(`tests/data/testimonies_holdout.jsonl`, never used to choose any setting here), in six
faces that ship with matplotlib (sans, serif, mono, bold, italic: no hand-written face
ships in a package, so that style is not measured), tilted up to 12 degrees, blurred,
lit unevenly, JPEG-compressed. Line recall counts a poster line as read when the best
recognised line is within 20% of its characters; CER is the edit distance over all
lines' characters (a missed line costs all of its). The baseline, in the same run, is
the same lines on a flat, sharp, upright sheet.
Videos: 30 s, 720x1280 (a phone held upright), 30 frames a second, captions burnt in
for 3 s each; seconds of video read per second, caption recall.
Targets: line recall >= 0.9 and CER <= 5% on printed posters; >= 1 image/s on one
core; a 30 s video in <= 10 s.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import add_record_option, machine, record  # noqa: E402

FACES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf",
         "DejaVuSansMono.ttf", "DejaVuSans-Oblique.ttf")


def font(name: str, size: int):
    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def distance(a: str, b: str) -> int:
    """Levenshtein distance, by rows."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def normal(text: str) -> str:
    return " ".join(text.split())


def poster_lines(rng: random.Random, texts: list[str]) -> list[str]:
    words = rng.choice(texts).replace("#", "").split()
    start = rng.randrange(max(1, len(words) - 12))
    lines = textwrap.wrap(" ".join(words[start:start + 14]), width=rng.randint(16, 24))
    return lines[:rng.randint(2, 4)] or ["Nurture works"]


def poster(lines: list[str], rng: random.Random, *, hard: bool) -> bytes:
    """A photo of a sheet held up: background, the sheet, its lines; with `hard`, tilted, soft, unevenly lit."""
    from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

    size = rng.choice([(1024, 768), (1600, 1200), (768, 1024)])
    background = tuple(rng.randint(60, 200) for _ in range(3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # clutter: a room behind the poster
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle((x, y, x + rng.randint(40, 300), y + rng.randint(40, 300)),
                       fill=tuple(rng.randint(30, 230) for _ in range(3)))
    face = font(rng.choice(FACES), rng.randint(int(size[0] / 48), int(size[0] / 20)))
    widths = [draw.textlength(line, font=face) for line in lines]
    line_height = face.size * 1.5
    w, h = max(widths) + face.size * 2, line_height * len(lines) + face.size * 2
    x0, y0 = (size[0] - w) / 2 + rng.uniform(-0.1, 0.1) * size[0], (size[1] - h) / 2
    paper = tuple(rng.randint(225, 255) for _ in range(3))
    ink = rng.choice([(20, 20, 20), (20, 30, 120), (140, 20, 30), (10, 80, 40)])
    draw.rectangle((x0, y0, x0 + w, y0 + h), fill=paper)
    for i, line in enumerate(lines):
        draw.text((x0 + face.size, y0 + face.size + i * line_height), line, font=face, fill=ink)
    if hard:
        image = image.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC, fillcolor=background)
        shade = Image.linear_gradient("L").resize(size).rotate(rng.uniform(0, 360))
        image = Image.composite(image, ImageEnhance.Brightness(image).enhance(rng.uniform(0.45, 0.8)), shade)
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.2))
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 2.0)))
        # held at an angle: one side of the sheet further away than the other
        dx, dy = size[0] * rng.uniform(0, 0.08), size[1] * rng.uniform(0, 0.08)
        image = image.transform(size, Image.QUAD, (dx, dy, 0, size[1], size[0], size[1] - dy, size[0] - dx, 0),
                                resample=Image.BICUBIC, fillcolor=background)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(60, 90) if hard else 92)
    return out.getvalue()


def score(truth: list[str], read: list[str]) -> tuple[int, int, int]:
    """(lines read, character errors, characters) of one poster."""
    found, errors = 0, 0
    for line in truth:
        best = min((distance(normal(line).lower(), normal(r).lower()) for r in read), default=len(line))
        errors += min(best, len(line))
        found += best <= 0.2 * len(line)
    return found, errors, sum(len(line) for line in truth)


def video(path: Path, captions: list[tuple[float, float, str]], seconds: float) -> None:
    import av
    from PIL import Image, ImageDraw

    face = font("DejaVuSans-Bold.ttf", 44)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 720, 1280, "yuv420p"
        stream.bit_rate = 2_000_000
        for i in range(int(seconds * 30)):
            t = i / 30
            frame = Image.new("RGB", (720, 1280), (60 + i % 50, 80, 110))
            draw = ImageDraw.Draw(frame)
            draw.ellipse((160 + (i * 2) % 120, 300, 560 + (i * 2) % 120, 800), fill=(205, 165, 135))
            for start, end, text in captions:
                if start <= t < end:
                    for k, line in enumerate(textwrap.wrap(text, 24)):
                        width = draw.textlength(line, font=face)
                        top = 1000 + k * 64
                        draw.rectangle((360 - width / 2 - 10, top - 6, 360 + width / 2 + 10, top + 58), fill=(0, 0, 0))
                        draw.text((360 - width / 2, top), line, font=face, fill=(255, 255, 255))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posters", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    add_record_option(parser)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from monitor.testimonies import pictures

    texts = [json.loads(line)["text"] for line in (ROOT / "tests" / "data" / "testimonies_holdout.jsonl")
             .read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"campaign-monitor media text benchmark, {time.strftime('%Y-%m-%d')}, {machine()}, pinned to one core")
    started = time.perf_counter()
    pictures._engine()
    print(f"engine load: {time.perf_counter() - started:.2f} s ({pictures.engine_name()})")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {}
        for hard in (False, True):
            found = errors = chars = lines = 0
            elapsed = 0.0
            wording, look = random.Random(args.seed), random.Random(args.seed + 1)  # the same lines in both sets
            for n in range(args.posters):
                truth = poster_lines(wording, texts)
                path = folder / f"poster-{hard}-{n}.jpg"
                path.write_bytes(poster(truth, look, hard=hard))
                started = time.perf_counter()
                reading = pictures.read_image(path)
                elapsed += time.perf_counter() - started
                f, e, c = score(truth, [line.text for line in reading.lines])
                found, errors, chars, lines = found + f, errors + e, chars + c, lines + len(truth)
            results[hard] = (found / lines, errors / chars, args.posters / elapsed)
            name = "tilted, blurred, unevenly lit" if hard else "flat, sharp, upright (baseline)"
            recall, cer, rate = results[hard]
            print(f"posters, {name}: {args.posters} photos, {lines} lines: line recall {recall:.3f}, CER {cer:.1%}, "
                  f"{rate:.2f} images/s")
            rows.append({"what": f"{args.posters} poster photos, {name}", "measured":
                         f"line recall {recall:.3f}, CER {cer:.1%}; {rate:.2f} images/s on one core",
                         "result": ("OK" if recall >= 0.9 and cer <= 0.05 and rate >= 1 else "BELOW TARGET")
                         + " (targets: recall >= 0.9, CER <= 5%, >= 1 image/s)"})
        base, hard = results[False], results[True]
        print(f"ratio, hard / flat: line recall {hard[0] / base[0]:.2f}, speed {hard[2] / base[2]:.2f}")

        captions = [(3.0 * i, 3.0 * i + 3.0, " ".join(texts[i].replace("#", "").split()[:8])) for i in range(10)]
        path = folder / "video.mp4"
        video(path, captions, 30.0)
        started = time.perf_counter()
        reading = pictures.read_video(path, per_second=1.0, max_frames=120, max_seconds=180)
        seconds = time.perf_counter() - started
        found = sum(any(distance(normal(c).lower(), normal(line.text).lower()) <= 0.2 * len(c)
                        for line in reading.lines) or
                    distance(normal(c).lower(), " ".join(normal(line.text).lower() for line in reading.lines
                                                         if line.start is not None and abs(line.start - s) <= 1.5))
                    <= 0.2 * len(c) for s, _, c in captions)
        print(f"video, 30 s 720x1280 at 30 fps, 1 frame read a second ({reading.frames} frames): {seconds:.1f} s "
              f"({30 / seconds:.1f} video seconds a second), captions read {found}/{len(captions)}, "
              f"{len(reading.lines)} caption lines")
        rows.append({"what": "a 30 s video, 720x1280, captions burnt in (1 frame read a second)",
                     "measured": f"{seconds:.1f} s ({30 / seconds:.1f} video s/s); captions read {found}/{len(captions)}",
                     "result": ("OK" if seconds <= 10 else "BELOW TARGET") + " (target <= 10 s)"})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    rows.append({"what": "peak memory", "measured": f"{peak:.0f} MB resident", "result": ""})
    if args.record:
        print(f"recorded in {record('media_text', rows, posters=args.posters, seed=args.seed)}")


if __name__ == "__main__":
    main()
