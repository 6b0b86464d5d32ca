"""Where every tool gets pixels: a photo decoded once, or a raster read window by window.

`open_image(path)` returns an `ImageSource` with the image's size and a
`read(window)` that returns that window as an 8-bit BGR array (what OpenCV and
the trainers expect). Tiling (`wt-data tile`), sliced prediction
(`wt_core.slicing.predict_sliced`, so every trainer and the registry), previews
and error galleries all read through it, so an orthomosaic larger than memory
is never decoded whole.

- A photo (JPEG, PNG, BMP, WebP) is decoded in full by OpenCV on the first read,
  EXIF orientation applied, with no pixel-count limit below OpenCV's own (2^30).
- A raster (GeoTIFF and BigTIFF, tiled or striped, and anything else GDAL reads
  with a suffix in `RASTER_SUFFIXES`) is read through rasterio, only the window
  asked for. Its bands become 8-bit RGB by one rule:
  * bands: the bands whose colour interpretation is red, green and blue; else
    bands 1, 2, 3; a one- or two-band raster is grey (band 1, through its colour
    table when it has one). Alpha and further bands are ignored.
  * values: 8-bit data is taken as it is. Any other type (16-bit, 32-bit, float)
    is stretched band by band from its 2nd to its 98th percentile onto 0-255,
    percentiles computed once per raster from a decimated read (at most 1024
    pixels a side, nodata left out), so every window of a raster maps alike.
  * nodata pixels become black.
- `georef` of a raster is its CRS and affine transform (pixel to map
  coordinates), which predictions record and GeoJSON export uses.

`read_windows` reads many windows of one image row band by row band, so a
striped raster is decoded once per band of tiles, not once per tile.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from wt_core.errors import BadInput

RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".jp2", ".img"}
STRETCH = (2.0, 98.0)
"""Percentiles stretched onto 0 and 255 for rasters that are not 8-bit."""
STATS_SIDE = 1024
"""The longest side of the decimated read the stretch is computed from."""
BAND_PIXELS = 32_000_000
"""At most this many pixels are read at once by `read_windows` (about 96 MB of RGB)."""
GDAL_CACHE_MB = 64
"""GDAL's block cache (its default is 5 % of the machine's memory), unless GDAL_CACHEMAX is set."""
Window = tuple[int, int, int, int]


def is_raster(path: str | Path) -> bool:
    """Read through rasterio (by suffix), rather than decoded whole as a photo."""
    return Path(path).suffix.lower() in RASTER_SUFFIXES


def allow_large_photos() -> None:
    """PIL refuses images beyond about 179 megapixels as 'decompression bombs'; survey photos and mosaics are larger."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None


def _rasterio() -> Any:
    os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))
    import rasterio

    return rasterio


class ImageSource:
    """One image, read window by window: `width`, `height`, `read((x0, y0, x1, y1))` as HxWx3 BGR uint8."""

    path: Path
    width: int
    height: int

    def read(self, window: Window) -> np.ndarray:
        raise NotImplementedError

    def georef(self) -> dict[str, Any] | None:
        """{crs, transform} of a georeferenced raster, else None."""
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ArraySource(ImageSource):
    """An image already in memory (an HxWx3 BGR array)."""

    def __init__(self, array: np.ndarray, path: str | Path = "<array>"):
        self.path = Path(path)
        self.array = array
        self.height, self.width = array.shape[:2]

    def read(self, window: Window) -> np.ndarray:
        x0, y0, x1, y1 = window
        return self.array[y0:y1, x0:x1]


class PhotoSource(ArraySource):
    """A photo: decoded whole by OpenCV (EXIF orientation applied) on the first read; its size from the header."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._array: np.ndarray | None = None
        self.width, self.height = photo_size(self.path)

    @property
    def array(self) -> np.ndarray:  # type: ignore[override]
        if self._array is None:
            import cv2

            img = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
            if img is None:
                raise BadInput("cannot decode this image", self.path, "pixels")
            self._array = img
            self.height, self.width = img.shape[:2]
        return self._array

    def close(self) -> None:
        self._array = None


def photo_size(path: Path) -> tuple[int, int]:
    """Width and height as displayed (after EXIF orientation), from the header, without a pixel limit."""
    from PIL import Image, UnidentifiedImageError

    allow_large_photos()
    try:
        with Image.open(path) as im:
            w, h = im.size
            if int(im.getexif().get(0x0112, 1) or 1) in (5, 6, 7, 8):
                w, h = h, w
    except FileNotFoundError:
        raise BadInput("image not found", path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise BadInput(f"cannot read this image: {' '.join(str(e).split())[:120]}", path) from None
    except ImportError:  # Ultralytics patches Image.open to retry a file Pillow cannot identify with pi-heif
        raise BadInput("cannot read this image: not a format Pillow identifies", path) from None
    return w, h


class RasterSource(ImageSource):
    """A raster read through rasterio, window by window, mapped to 8-bit BGR by the module's rule."""

    def __init__(self, path: str | Path):
        rasterio = _rasterio()
        self.path = Path(path)
        if not self.path.is_file():
            raise BadInput("image not found", self.path)
        try:
            self.ds = rasterio.open(self.path)
        except rasterio.errors.RasterioIOError as e:
            raise BadInput(f"cannot read this raster: {' '.join(str(e).split())[:160]}", self.path) from None
        self.width, self.height = self.ds.width, self.ds.height
        self.bands, self.lut = _bands(self.ds)
        self.dtype = np.dtype(self.ds.dtypes[self.bands[0] - 1])
        self.nodata = self.ds.nodata
        self._ranges: np.ndarray | None = None

    @property
    def ranges(self) -> np.ndarray | None:
        """(bands, 2) low and high values of the stretch; None for 8-bit data."""
        if self.dtype == np.uint8:
            return None
        if self._ranges is None:
            scale = max(self.width, self.height) / STATS_SIDE
            shape = (len(self.bands), max(1, round(self.height / max(scale, 1))), max(1, round(self.width / max(scale, 1))))
            sample = self.ds.read(self.bands, out_shape=shape, masked=True)
            ranges = []
            for band in sample:
                values = band.compressed().astype(np.float64)
                values = values[np.isfinite(values)]
                lo, hi = np.percentile(values, STRETCH) if len(values) else (0.0, 1.0)
                ranges.append((lo, hi if hi > lo else lo + 1))
            self._ranges = np.asarray(ranges, dtype=np.float64)
        return self._ranges

    def read(self, window: Window) -> np.ndarray:
        from rasterio.windows import Window as RWindow

        x0, y0, x1, y1 = window
        if not (0 <= x0 < x1 <= self.width and 0 <= y0 < y1 <= self.height):
            raise ValueError(f"window {window} is outside the {self.width}x{self.height} raster {self.path}")
        win = RWindow(x0, y0, x1 - x0, y1 - y0)
        masked = self.nodata is not None
        try:
            data = self.ds.read(self.bands, window=win, masked=masked)
        except Exception as e:
            raise BadInput(f"cannot read window {window}: {' '.join(str(e).split())[:160]}", self.path, "pixels") from None
        mask = np.ma.getmaskarray(data).any(axis=0) if masked else None
        out = _to_bgr(self, np.ma.getdata(data))
        if mask is not None and mask.any():
            out[mask] = 0
        return out

    def georef(self) -> dict[str, Any] | None:
        if self.ds.crs is None and self.ds.transform.is_identity:
            return None
        t = self.ds.transform
        return {"crs": crs_text(self.ds.crs) if self.ds.crs else None,
                "transform": [t.a, t.b, t.c, t.d, t.e, t.f]}

    def close(self) -> None:
        self.ds.close()


def _to_bgr(src: RasterSource, data: np.ndarray) -> np.ndarray:
    """Band planes (bands, h, w) of a raster to 8-bit interleaved BGR by the module's rule."""
    import cv2

    ranges = src.ranges
    if ranges is not None:
        lo, hi = ranges[:, 0, None, None], ranges[:, 1, None, None]
        data = np.clip((data.astype(np.float32) - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)
    bgr: np.ndarray
    if src.lut is not None:
        bgr = cv2.cvtColor(src.lut[data[0]], cv2.COLOR_RGB2BGR)
    elif len(src.bands) == 1:
        bgr = cv2.merge([data[0]] * 3)
    else:
        bgr = cv2.merge([data[2], data[1], data[0]])  # band planes to interleaved BGR (SIMD, not a strided copy)
    return bgr


def crs_text(crs: Any) -> str:
    """'EPSG:n' when the CRS has an EPSG code, else its WKT."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _bands(ds: Any) -> tuple[list[int], np.ndarray | None]:
    """The 1-based bands that become R, G, B (or one grey band), and a colour table as a 256x3 RGB lookup."""
    from rasterio.enums import ColorInterp

    interp = list(ds.colorinterp)
    if all(c in interp for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
        return [interp.index(c) + 1 for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)], None
    if ds.count >= 3:
        return [1, 2, 3], None
    if interp and interp[0] == ColorInterp.palette and ds.dtypes[0] == "uint8":
        lut = np.zeros((256, 3), np.uint8)
        for k, rgba in ds.colormap(1).items():
            if 0 <= k < 256:
                lut[k] = rgba[:3]
        return [1], lut
    return [1], None


def open_image(path: str | Path) -> ImageSource:
    """A raster (by suffix) read window by window, or a photo decoded once."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("image not found", path)
    return RasterSource(path) if is_raster(path) else PhotoSource(path)


def image_size(path: str | Path) -> tuple[int, int]:
    """Width and height of an image or raster, from its header."""
    with open_image(path) as src:
        return src.width, src.height


def georef_of(path: str | Path) -> dict[str, Any] | None:
    """{crs, transform} of a georeferenced raster; None for a photo or a raster without one."""
    if not is_raster(path):
        return None
    with RasterSource(path) as src:
        return src.georef()


def read_windows(source: ImageSource | np.ndarray, windows: Iterable[Window],
                 max_pixels: int = BAND_PIXELS) -> Iterator[tuple[Window, np.ndarray]]:
    """Each window with its pixels, in the order given.

    Consecutive windows on the same rows are read together as one region (at
    most `max_pixels`), then cut, so a raster's blocks are decoded once per row
    band instead of once per overlapping window.
    """
    if isinstance(source, np.ndarray):
        source = ArraySource(source)
    group: list[Window] = []

    def flush() -> Iterator[tuple[Window, np.ndarray]]:
        gx0, gy0 = min(w[0] for w in group), min(w[1] for w in group)
        gx1, gy1 = max(w[2] for w in group), max(w[3] for w in group)
        region = source.read((gx0, gy0, gx1, gy1))
        for x0, y0, x1, y1 in group:
            yield (x0, y0, x1, y1), region[y0 - gy0:y1 - gy0, x0 - gx0:x1 - gx0]
        group.clear()

    for win in windows:
        if group:
            gx0, gy0 = min(w[0] for w in group), min(w[1] for w in group)
            gx1, gy1 = max(max(w[2] for w in group), win[2]), max(max(w[3] for w in group), win[3])
            same_rows = (win[1], win[3]) == (group[0][1], group[0][3])
            if not same_rows or (gx1 - min(gx0, win[0])) * (gy1 - min(gy0, win[1])) > max_pixels:
                yield from flush()
        group.append(win)
    if group:
        yield from flush()


def read_padded(source: ImageSource, window: Window) -> np.ndarray:
    """The pixels of a window that may leave the image (a crop with context near an edge), black outside it."""
    x0, y0, x1, y1 = window
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x1, source.width), min(y1, source.height)
    out = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    if cx1 > cx0 and cy1 > cy0:
        out[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = source.read((cx0, cy0, cx1, cy1))
    return out


def overview(source: ImageSource, max_side: int) -> tuple[np.ndarray, float]:
    """The whole image at most `max_side` pixels a side (BGR) and its scale (overview pixels per image pixel).

    A raster is read decimated by GDAL (from its overviews when it has some), never at full size.
    """
    import cv2

    scale = min(1.0, max_side / max(source.width, source.height))
    w, h = max(1, round(source.width * scale)), max(1, round(source.height * scale))
    if isinstance(source, RasterSource) and scale < 1:
        from rasterio.enums import Resampling

        data = source.ds.read(source.bands, out_shape=(len(source.bands), h, w), resampling=Resampling.average)
        return _to_bgr(source, data), scale
    img = source.read((0, 0, source.width, source.height))
    if scale < 1:
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return img, scale
