"""GeoTIFF / BigTIFF orthomosaics with boxes or points in pixel or map coordinates.

`wt-data import --format geotiff --source S`, where S is
- a raster (`ortho.tif`): its annotations are the file beside it with the same
  stem, `ortho.geojson` or `ortho.csv` (none: an unannotated raster, e.g. to predict);
- a folder: every raster in it (recursively), each with its own such file;
- a GeoJSON or CSV: the annotations; the raster of a row is its `image_path`
  column (CSV) or `image` property (GeoJSON), relative to `--images` or the
  file's folder, else the raster with the same stem beside the file.

Coordinates:
- GeoJSON is in map coordinates: in the CRS its `crs` member names, else in
  the raster's CRS when the coordinates lie inside the raster, else in
  longitude/latitude (EPSG:4326, as RFC 7946 says). A Polygon or MultiPolygon
  becomes the pixel box around it; a Point becomes a point. The class is the
  property `label` (or `class`, `category`, `name`).
- CSV has the header `image_path,xmin,ymin,xmax,ymax,label` (boxes) or
  `image_path,x,y,label` (points), with an optional last column `crs`: empty,
  the coordinates are pixels; `raster`, map coordinates in the raster's CRS;
  else the CRS they are in (`EPSG:4326`, `EPSG:32736`, a WKT).
Map coordinates are converted to pixels through the raster's affine transform
(after reprojection into the raster's CRS when they are in another one).
Rasters are only opened for their header here; pixels are read window by
window later (wt_core.raster).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput
from wt_core.raster import RASTER_SUFFIXES, RasterSource, is_raster

from wt_data.formats.csvfmt import _rows
from wt_data.problems import Problems
from wt_data.raw import RawBox, RawDataset, RawImage, RawSplit

LABEL_KEYS = ("label", "class", "category", "name")
SIDECARS = (".geojson", ".csv")


class Georef:
    """A raster's header: size, CRS, transform; converts map coordinates of any CRS to its pixels."""

    def __init__(self, path: Path):
        with RasterSource(path) as src:
            self.width, self.height = src.width, src.height
            self.crs = src.ds.crs
            self.transform = src.ds.transform
            self.bounds = src.ds.bounds
        self.path = path

    def to_pixels(self, xs: list[float], ys: list[float], crs: Any, file: Path, where: str) -> tuple[list[float], list[float]]:
        if crs is not None and self.crs is not None and crs != self.crs:
            from rasterio.warp import transform

            xs, ys = transform(crs, self.crs, xs, ys)
        elif crs is not None and self.crs is None:
            raise BadInput(f"map coordinates given, but the raster {self.path.name} has no CRS", file, where)
        a, b, c, d, e, f = list(~self.transform)[:6]
        return [a * x + b * y + c for x, y in zip(xs, ys, strict=True)], [d * x + e * y + f for x, y in zip(xs, ys, strict=True)]

    def inside(self, x: float, y: float) -> bool:
        b = self.bounds
        return b.left <= x <= b.right and min(b.bottom, b.top) <= y <= max(b.bottom, b.top)


def parse_crs(text: str, file: Path, where: str):
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise BadInput(f"unknown CRS {text!r}", file, where) from None


def sidecar(raster: Path) -> Path | None:
    return next((p for p in (raster.with_suffix(s) for s in SIDECARS) if p.is_file()), None)


def read_geotiff(source: Path, images: Path | None, problems: Problems, task: str = "detect") -> RawDataset:
    if task == "classify":
        raise BadInput("a GeoTIFF import gives a detect dataset", source, "task")
    if not source.exists():
        raise BadInput("not found", source)
    rasters: dict[Path, list[RawBox]] = {}
    if source.is_dir():
        found = sorted(p for p in source.rglob("*") if p.suffix.lower() in RASTER_SUFFIXES and p.is_file())
        if not found:
            raise BadInput("no rasters (.tif, .tiff, .vrt, .jp2, .img) in this folder", source)
        root = images or source
        for r in found:
            rasters[r] = _annotations(sidecar(r), r, problems) if sidecar(r) else []
    elif is_raster(source):
        root = images or source.parent
        note = sidecar(source)
        rasters[source] = _annotations(note, source, problems) if note else []
    elif source.suffix.lower() in (".geojson", ".json", ".csv"):
        root = images or source.parent
        rasters = _from_annotation_file(source, root, problems)
    else:
        raise BadInput("expected a raster (.tif), a folder of rasters, or a GeoJSON/CSV of annotations", source)
    root = Path(root).absolute()
    raws = []
    for r, boxes in rasters.items():
        try:
            name = r.absolute().relative_to(root).as_posix()
        except ValueError:
            name = str(r.absolute())
        geo = Georef(r)
        raws.append(RawImage(name, geo.width, geo.height, boxes=boxes, where=r.name))
    classes = sorted({b.label for im in raws for b in im.boxes})
    return RawDataset("detect", classes, {"all": RawSplit(root, raws, source)})


def _from_annotation_file(source: Path, root: Path, problems: Problems) -> dict[Path, list[RawBox]]:
    """Annotations of one GeoJSON or CSV, grouped by the raster each names."""
    default = next((p for p in (source.with_suffix(s) for s in (".tif", ".tiff")) if p.is_file()), None)
    if source.suffix.lower() == ".csv":
        by_raster: dict[Path, list[list[str]]] = {}
        head, rows = _csv_rows(source)
        for n, row in rows:
            raster = root / row[0] if row[0] else default
            if raster is None or not raster.is_file():
                raise BadInput(f"raster {row[0]!r} not found under {root}", source, f"line {n}, image_path")
            by_raster.setdefault(raster, []).append([str(n), *row])
        return {r: _csv_boxes(source, head, lines, Georef(r), problems) for r, lines in by_raster.items()}
    doc = _geojson(source)
    groups: dict[Path, list[tuple[int, dict]]] = {}
    for i, f in enumerate(doc["features"]):
        name = (f.get("properties") or {}).get("image")
        raster = root / name if name else default
        if raster is None or not raster.is_file():
            raise BadInput(f"raster {name or source.with_suffix('.tif').name!r} not found", source,
                           f"features[{i}].properties.image")
        groups.setdefault(raster, []).append((i, f))
    return {r: _geojson_boxes(source, doc, fs, Georef(r), problems) for r, fs in groups.items()}


def _annotations(note: Path, raster: Path, problems: Problems) -> list[RawBox]:
    geo = Georef(raster)
    if note.suffix.lower() == ".csv":
        head, rows = _csv_rows(note)
        return _csv_boxes(note, head, [[str(n), *r] for n, r in rows], geo, problems)
    doc = _geojson(note)
    return _geojson_boxes(note, doc, list(enumerate(doc["features"])), geo, problems)


def _geojson(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"cannot read GeoJSON: {e}", path) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise BadInput("a GeoJSON FeatureCollection needs a 'features' list", path, "features")
    return doc


def _flat(coords: Any) -> list[tuple[float, float]]:
    if isinstance(coords, (list, tuple)) and len(coords) >= 2 and all(isinstance(v, (int, float)) for v in coords[:2]):
        return [(float(coords[0]), float(coords[1]))]
    out: list[tuple[float, float]] = []
    for c in coords if isinstance(coords, (list, tuple)) else []:
        out += _flat(c)
    return out


def _geojson_boxes(file: Path, doc: dict, features: list[tuple[int, dict]], geo: Georef,
                   problems: Problems) -> list[RawBox]:
    named = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    crs = parse_crs(named, file, "crs") if named else None
    out: list[RawBox] = []
    for i, f in features:
        where = f"features[{i}]"
        props = f.get("properties") or {} if isinstance(f, dict) else {}
        label = next((str(props[k]) for k in LABEL_KEYS if props.get(k) not in (None, "")), None)
        geom = f.get("geometry") if isinstance(f, dict) else None
        if label is None:
            problems.skip("missing_label", f"a feature needs a {' or '.join(LABEL_KEYS)} property", file,
                          f"{where}.properties")
            continue
        if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon", "Point"):
            problems.skip("unsupported_geometry", f"geometry must be a Polygon, MultiPolygon or Point, got "
                          f"{(geom or {}).get('type')!r}", file, f"{where}.geometry")
            continue
        pts = _flat(geom.get("coordinates"))
        if not pts:
            problems.skip("invalid_geometry", "no coordinates", file, f"{where}.geometry.coordinates")
            continue
        src_crs = crs
        if src_crs is None:  # RFC 7946 says lon/lat; mosaics' own tools write the raster's CRS without saying so
            src_crs = geo.crs if geo.crs is None or geo.inside(*pts[0]) else parse_crs("EPSG:4326", file, "crs")
        cols, rows = geo.to_pixels([p[0] for p in pts], [p[1] for p in pts], src_crs if geo.crs is not None else None,
                                   file, where)
        out.append(_shape(label, cols, rows, geom["type"] == "Point", where))
    return out


def _shape(label: str, cols: list[float], rows: list[float], point: bool, where: str) -> RawBox:
    if point:
        return RawBox(label, None, where=where, point=[cols[0], rows[0]])  # type: ignore[call-arg]
    x0, y0, x1, y1 = min(cols), min(rows), max(cols), max(rows)
    return RawBox(label, [x0, y0, x1 - x0, y1 - y0], where=where)


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and rows of a box or point CSV (the csv format's reading), each row with as many fields as the header."""
    head, rows = _rows(path)
    head = ["image_path" if k == 0 and h == "image" else h for k, h in enumerate(head)]
    boxes, points = ["image_path", "xmin", "ymin", "xmax", "ymax", "label"], ["image_path", "x", "y", "label"]
    if head[:6] != boxes and head[:4] != points:
        raise BadInput(f"expected the header {','.join(boxes)}[,crs] or {','.join(points)}[,crs], got {','.join(head)}",
                       path, "line 1")
    body = [(n, [c.strip() for c in r]) for n, r in rows]
    for n, r in body:
        if len(r) != len(head):
            raise BadInput(f"expected {len(head)} fields, got {len(r)}", path, f"line {n}")
    return head, body


def _csv_boxes(file: Path, head: list[str], lines: list[list[str]], geo: Georef, problems: Problems) -> list[RawBox]:
    point = head[1] == "x"
    ncoord = 2 if point else 4
    out: list[RawBox] = []
    for n, _, *rest in lines:
        where = f"line {n}"
        coords, label = rest[:ncoord], rest[ncoord]
        crs_text = rest[ncoord + 1] if "crs" in head else ""
        if not any(coords) and not label:
            continue
        try:
            v = [float(c) for c in coords]
        except ValueError:
            problems.skip("not_a_number", f"coordinates must be numbers, got {coords}", file, where)
            continue
        if not label:
            problems.skip("missing_label", "a box needs a label", file, f"{where}, label")
            continue
        xs, ys = (v[0::2], v[1::2])
        if crs_text:
            crs = geo.crs if crs_text.lower() == "raster" else parse_crs(crs_text, file, f"{where}, crs")
            if geo.crs is None:
                raise BadInput(f"map coordinates given, but the raster {geo.path.name} has no CRS", file, f"{where}, crs")
            xs, ys = geo.to_pixels(xs, ys, crs, file, where)
        out.append(_shape(label, list(xs), list(ys), point, where))
    return out
