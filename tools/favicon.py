"""Write ``assets/favicon.ico`` from ``assets/favicon.svg``.

    python tools/favicon.py            # assets/favicon.svg -> assets/favicon.ico
    python tools/favicon.py --check    # exit 1 when the .ico is not the svg's

The favicon is drawn only with what this script rasterizes itself: ``<rect>`` (with
``rx``), ``<circle>`` and ``<path>`` with absolute ``M L H V C Q Z`` commands, each with
a solid ``fill``.  Shapes are filled by the non-zero rule, 4 × 4 samples per pixel,
at 16, 32 and 48 pixels.  The ICO holds one PNG per size (read by every current
browser); Pillow writes it when it is installed, otherwise the bytes are written here
with the standard library (struct + zlib)."""

from __future__ import annotations

import argparse
import io
import itertools
import math
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "assets" / "favicon.svg"
ICO = ROOT / "assets" / "favicon.ico"
SIZES = (16, 32, 48)
SAMPLES = 4  # per axis
NS = "{http://www.w3.org/2000/svg}"

Point = tuple[float, float]
Polygon = list[Point]
RGBA = tuple[int, int, int, int]


# --------------------------------------------------------------------------- SVG to polygons


def _color(value: str) -> RGBA:
    value = value.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6:
        raise ValueError(f"unsupported fill {value!r} (use #rgb or #rrggbb)")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255


def _bezier(points: list[Point], steps: int = 24) -> Polygon:
    """Points along a quadratic or cubic Bézier curve (without its start)."""
    out = []
    for i in range(1, steps + 1):
        t = i / steps
        pts = points
        while len(pts) > 1:  # de Casteljau
            pts = [((1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1]) for a, b in itertools.pairwise(pts)]
        out.append(pts[0])
    return out


def _path(d: str) -> list[Polygon]:
    tokens = re.findall(r"[MLHVCQZ]|-?\d*\.?\d+(?:e-?\d+)?", d, flags=re.IGNORECASE)
    shapes: list[Polygon] = []
    current: Polygon = []
    i, command = 0, ""

    def number() -> float:
        nonlocal i
        value = float(tokens[i])
        i += 1
        return value

    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command.islower():
                raise ValueError(f"relative path commands are not supported: {command!r}")
        here = current[-1] if current else (0.0, 0.0)
        if command == "M":
            if current:
                shapes.append(current)
            current = [(number(), number())]
            command = "L"
        elif command == "L":
            current.append((number(), number()))
        elif command == "H":
            current.append((number(), here[1]))
        elif command == "V":
            current.append((here[0], number()))
        elif command == "C":
            current.extend(_bezier([here, (number(), number()), (number(), number()), (number(), number())]))
        elif command == "Q":
            current.extend(_bezier([here, (number(), number()), (number(), number())]))
        elif command == "Z":
            if current:
                shapes.append(current)
            current = []
        else:
            raise ValueError(f"unsupported path command {command!r}")
    if current:
        shapes.append(current)
    return shapes


def _rect(x: float, y: float, w: float, h: float, r: float) -> list[Polygon]:
    r = min(r, w / 2, h / 2)
    if r <= 0:
        return [[(x, y), (x + w, y), (x + w, y + h), (x, y + h)]]
    corners = ((x + w - r, y + r, -90), (x + w - r, y + h - r, 0), (x + r, y + h - r, 90), (x + r, y + r, 180))
    poly = []
    for cx, cy, start in corners:
        for step in range(9):
            angle = math.radians(start + step * 90 / 8)
            poly.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return [poly]


def _circle(cx: float, cy: float, r: float) -> list[Polygon]:
    return [[(cx + r * math.cos(2 * math.pi * k / 64), cy + r * math.sin(2 * math.pi * k / 64)) for k in range(64)]]


def read_svg(path: Path) -> tuple[float, float, list[tuple[list[Polygon], RGBA]]]:
    """The view box size and the filled shapes, in drawing order."""
    root = ET.parse(path).getroot()
    _x, _y, width, height = (float(v) for v in root.attrib["viewBox"].split())
    shapes: list[tuple[list[Polygon], RGBA]] = []
    for el in root.iter():
        tag = el.tag.removeprefix(NS)
        a = el.attrib
        if tag == "rect":
            polys = _rect(
                float(a.get("x", 0)), float(a.get("y", 0)), float(a["width"]), float(a["height"]), float(a.get("rx", 0))
            )
        elif tag == "circle":
            polys = _circle(float(a["cx"]), float(a["cy"]), float(a["r"]))
        elif tag == "path":
            polys = _path(a["d"])
        elif tag in ("svg", "title", "desc", "g"):
            continue
        else:
            raise ValueError(f"favicon.svg may only use rect, circle and path, not <{tag}>")
        shapes.append((polys, _color(a.get("fill", "#000"))))
    return width, height, shapes


# --------------------------------------------------------------------------- rasterizing


def _coverage(polys: list[Polygon], size: int, scale_x: float, scale_y: float) -> list[float]:
    """The share of each pixel inside the shape (non-zero winding), row by row."""
    grid = size * SAMPLES
    edges = []
    for poly in polys:
        for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=False):
            if y0 != y1:
                edges.append(
                    (x0 * scale_x * SAMPLES, y0 * scale_y * SAMPLES, x1 * scale_x * SAMPLES, y1 * scale_y * SAMPLES)
                )
    cover = [0.0] * (size * size)
    weight = 1 / (SAMPLES * SAMPLES)
    for sy in range(grid):
        y = sy + 0.5
        crossings = []
        for x0, y0, x1, y1 in edges:
            if (y0 <= y < y1) or (y1 <= y < y0):
                crossings.append((x0 + (y - y0) * (x1 - x0) / (y1 - y0), 1 if y1 > y0 else -1))
        crossings.sort()
        winding = 0
        for (xa, direction), (xb, _) in itertools.pairwise(crossings):
            winding += direction
            if winding == 0:
                continue
            start, end = max(0, math.ceil(xa - 0.5)), min(grid, math.ceil(xb - 0.5))
            for sx in range(start, end):
                cover[(sy // SAMPLES) * size + sx // SAMPLES] += weight
    return cover


def render(path: Path, size: int) -> bytes:
    """RGBA pixels of the SVG at ``size`` × ``size``, rows top to bottom."""
    width, height, shapes = read_svg(path)
    pixels = [[0.0, 0.0, 0.0, 0.0] for _ in range(size * size)]  # premultiplied
    for polys, (r, g, b, _a) in shapes:
        for i, c in enumerate(_coverage(polys, size, size / width, size / height)):
            if c <= 0:
                continue
            c = min(c, 1.0)
            px = pixels[i]
            px[0] = r / 255 * c + px[0] * (1 - c)
            px[1] = g / 255 * c + px[1] * (1 - c)
            px[2] = b / 255 * c + px[2] * (1 - c)
            px[3] = c + px[3] * (1 - c)
    out = bytearray()
    for pr, pg, pb, pa in pixels:
        if pa <= 0:
            out += b"\0\0\0\0"
        else:
            out += bytes(round(min(1.0, v / pa) * 255) for v in (pr, pg, pb)) + bytes([round(pa * 255)])
    return bytes(out)


# --------------------------------------------------------------------------- PNG and ICO


def png(rgba: bytes, size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + rgba[y * size * 4 : (y + 1) * size * 4] for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def ico(images: dict[int, bytes]) -> bytes:
    """An ICO file holding one PNG per size."""
    try:
        from PIL import Image  # type: ignore[import-not-found]
    except ImportError:
        Image = None
    if Image is not None:
        largest = max(images)
        picture = Image.frombytes("RGBA", (largest, largest), images[largest])
        buffer = io.BytesIO()
        picture.save(buffer, format="ICO", sizes=[(s, s) for s in sorted(images)])
        return buffer.getvalue()
    entries = [(size, png(rgba, size)) for size, rgba in sorted(images.items())]
    header = struct.pack("<HHH", 0, 1, len(entries))
    offset = len(header) + 16 * len(entries)
    directory, blobs = b"", b""
    for size, data in entries:
        directory += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + directory + blobs


def build(svg: Path = SVG) -> bytes:
    return ico({size: render(svg, size) for size in SIZES})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when assets/favicon.ico is out of date")
    args = parser.parse_args(argv)
    data = build()
    if args.check:
        if not ICO.exists() or ICO.read_bytes() != data:
            print(f"{ICO.relative_to(ROOT)} is not made from {SVG.relative_to(ROOT)}: run python tools/favicon.py")
            return 1
        return 0
    ICO.write_bytes(data)
    print(f"wrote {ICO.relative_to(ROOT)} ({len(data)} bytes, {', '.join(f'{s}px' for s in SIZES)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
