"""Image checks at import: the file exists, stays inside its root, decodes, and has the annotated size.

Sizes are the displayed size, after the EXIF orientation is applied, since that
is the frame annotation tools draw in and trainers read. Photos beyond PIL's
default pixel limit (its "decompression bomb" guard) are read; a raster (GeoTIFF,
BigTIFF: `wt_core.raster`) is opened through rasterio, never decoded whole.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from wt_core.errors import BadInput
from wt_core.raster import STATS_SIDE, RasterSource, allow_large_photos, is_raster

Check = Literal["decode", "header", "none"]
_SWAPPING = (5, 6, 7, 8)


@dataclass
class ImageInfo:
    ok: bool
    width: int = 0
    height: int = 0
    orientation: int = 1
    error: str | None = None
    reason: str | None = None
    gps: tuple[float, float] | None = None


def escapes_root(file_name: str) -> bool:
    p = PurePosixPath(file_name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or file_name.startswith("~")


def _gps(exif) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(0x8825)
    except Exception:
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None

    def deg(v) -> float:
        d, m, s = (float(x) for x in v)
        return d + m / 60 + s / 3600

    lat, lon = deg(gps[2]), deg(gps[4])
    if gps.get(1) == "S":
        lat = -lat
    if gps.get(3) == "W":
        lon = -lon
    return round(lat, 7), round(lon, 7)


def inspect_image(path: Path, check: Check = "decode", want_gps: bool = False) -> ImageInfo:
    """Open one image: its displayed size, EXIF orientation, optional GPS; decode it fully with 'decode'."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        return ImageInfo(False, error="image not found", reason="missing_image")
    if check == "none" and not want_gps:
        return ImageInfo(True)
    if is_raster(path):
        return inspect_raster(path, check)
    allow_large_photos()
    try:
        with Image.open(path) as im:
            w, h = im.size
            exif = im.getexif()
            orientation = int(exif.get(0x0112, 1) or 1)
            gps = _gps(exif) if want_gps else None
            if check == "decode":
                im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        msg = " ".join(str(e).split())[:120] or type(e).__name__
        return ImageInfo(False, error=f"image does not decode: {msg}", reason="corrupt_image")
    if orientation in _SWAPPING:
        w, h = h, w
    return ImageInfo(True, w, h, orientation, gps=gps)


def inspect_raster(path: Path, check: Check = "decode") -> ImageInfo:
    """A raster's size from its header; 'decode' also reads it whole at a decimated size (every block decoded,
    none kept), so a corrupt block is found at import without holding the raster in memory."""
    try:
        with RasterSource(path) as src:
            if check == "decode":
                scale = max(1, max(src.width, src.height) // STATS_SIDE)
                src.ds.read(src.bands, out_shape=(len(src.bands), max(1, src.height // scale), max(1, src.width // scale)))
                _ = src.ranges
            return ImageInfo(True, src.width, src.height)
    except BadInput as e:
        return ImageInfo(False, error=e.message, reason="corrupt_image")
    except Exception as e:
        return ImageInfo(False, error=f"raster does not decode: {' '.join(str(e).split())[:120]}", reason="corrupt_image")


def inspect_many(paths: list[Path], check: Check = "decode", want_gps: bool = False, workers: int = 4) -> list[ImageInfo]:
    """inspect_image over many files (PIL releases the GIL while decoding)."""
    if len(paths) < 8:
        return [inspect_image(p, check, want_gps) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: inspect_image(p, check, want_gps), paths))
