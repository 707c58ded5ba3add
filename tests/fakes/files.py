"""Real small media files, made on the fly: a PNG picture and a WAV recording."""

from __future__ import annotations

import io
import struct
import wave
import zlib


def png(width: int = 8, height: int = 8, colour: tuple[int, int, int] = (106, 61, 154)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def wav(seconds: float = 0.2, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(bytes((128 + (i % 16) * 4) % 256 for i in range(int(seconds * rate))))
    return buffer.getvalue()


def _font(size: int):
    """DejaVu Sans Bold from matplotlib's own data: the same glyphs on every machine, no system fonts."""
    from pathlib import Path

    import matplotlib
    from PIL import ImageFont

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"), size)


def poster(lines: list[str], *, tilt: float = 6.0) -> bytes:
    """A JPEG photo of a hand-held poster: a sheet on a background, the lines on it, tilted and soft."""
    from PIL import Image, ImageDraw, ImageFilter

    image = Image.new("RGB", (1024, 768), (190, 160, 130))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 80, 300, 400), fill=(220, 180, 150))  # someone holding it
    draw.rectangle((300, 120, 920, 660), fill=(250, 248, 236))
    font = _font(40)
    for i, line in enumerate(lines):
        draw.text((340, 170 + i * 80), line, font=font, fill=(25, 25, 110))
    image = image.rotate(tilt, fillcolor=(190, 160, 130)).filter(ImageFilter.GaussianBlur(1.0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def captioned_video(captions: list[tuple[float, float, str]], seconds: float, *, fps: int = 10,
                    background=None) -> bytes:
    """An MP4 (MPEG-4 part 2) with moving pictures and captions burnt in at the bottom: (start, end, text).
    `background`: a 640x360 PIL picture every frame starts from (else a plain colour and a moving disc)."""
    import os
    import tempfile

    import av
    from PIL import Image, ImageDraw

    font = _font(26)
    fd, name = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        with av.open(name, "w") as out:
            stream = out.add_stream("mpeg4", rate=fps)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            for i in range(int(seconds * fps)):
                t = i / fps
                frame = background.copy() if background else Image.new("RGB", (640, 360), (70 + i % 40, 90, 120))
                draw = ImageDraw.Draw(frame)
                if not background:
                    draw.ellipse((220 + (i * 3) % 60, 50, 420 + (i * 3) % 60, 250), fill=(210, 170, 140))
                for start, end, text in captions:
                    if start <= t < end:
                        width = draw.textlength(text, font=font)
                        draw.rectangle((320 - width / 2 - 8, 296, 320 + width / 2 + 8, 338), fill=(0, 0, 0))
                        draw.text((320 - width / 2, 302), text, font=font, fill=(255, 255, 255))
                for packet in stream.encode(av.VideoFrame.from_image(frame)):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        with open(name, "rb") as f:
            return f.read()
    finally:
        os.unlink(name)
