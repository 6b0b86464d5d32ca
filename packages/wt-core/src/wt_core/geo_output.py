"""Boxes on the map: predictions and annotations of georeferenced rasters as GeoJSON or GeoPackage.

A box (COCO `bbox`, xywh in pixels) becomes the Polygon of its four corners
mapped through the raster's affine transform (pixel corners: pixel (0, 0) is the
raster's upper-left corner); a point becomes a Point. Files are in the raster's
own CRS, so the features lie on the orthomosaic in QGIS without reprojection:
GeoJSON names it in the legacy `crs` member (read by GDAL, QGIS and geopandas),
GeoPackage in its spatial reference table (written by GDAL through pyogrio).

Prediction jobs (`wt_core.predictions.predict_job`) write one file per
georeferenced raster, `geo/<split>/<raster stem>.geojson` or `.gpkg`, beside
the COCO results, as each raster's boxes are final (`GeoWriter`, a sink of
`wt_core.streaming.finalize`); `wt-data geojson` writes the same features.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wt_core.errors import BadInput

if TYPE_CHECKING:
    from wt_core.outputs import Output

GeoFormat = Literal["geojson", "gpkg", "none"]
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg"}


def to_map(transform: list[float], col: float, row: float) -> tuple[float, float]:
    a, b, c, d, e, f = transform
    return a * col + b * row + c, d * col + e * row + f


def _ring(transform: list[float], bbox: list[float]) -> list[list[float]]:
    x, y, w, h = bbox
    return [list(to_map(transform, cx, cy)) for cx, cy in ((x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y))]


def feature(georef: dict[str, Any], ann: dict[str, Any], classes: list[str], image: str) -> dict[str, Any] | None:
    """One annotation or prediction (COCO `bbox` xywh in pixels, or `point` [x, y]) as a GeoJSON Feature."""
    t = georef["transform"]
    props: dict[str, Any] = {"class": classes[ann["category_id"]], "class_id": ann["category_id"], "image": image}
    if "score" in ann:
        props["score"] = ann["score"]
    if ann.get("point") is not None:
        x, y = to_map(t, *ann["point"])
        return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [x, y]}}
    if ann.get("bbox") is None:
        return None
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [_ring(t, ann["bbox"])]}}


def collection(georef: dict[str, Any], features: list[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if georef.get("crs"):
        doc["crs"] = {"type": "name", "properties": {"name": georef["crs"]}}
    doc["features"] = features
    return doc


def _wkb_polygon(ring: list[list[float]]) -> bytes:
    """A one-ring Polygon as little-endian WKB."""
    return struct.pack(f"<BII I{2 * len(ring)}d", 1, 3, 1, len(ring), *(v for p in ring for v in p))


def write_gpkg(path: Path, layer: str, georef: dict[str, Any], results: list[dict[str, Any]], classes: list[str],
               image: str) -> None:
    """Boxes as Polygons of one GeoPackage layer in the raster's CRS (fields: class, class_id, score, image)."""
    import numpy as np
    from pyogrio.raw import write

    t = georef["transform"]
    geometry = np.array([_wkb_polygon(_ring(t, r["bbox"])) for r in results], dtype=object)
    fields = ["class", "class_id", "score", "image"]
    data = [np.array([classes[r["category_id"]] for r in results], dtype=object),
            np.array([r["category_id"] for r in results], dtype=np.int32),
            np.array([r.get("score", 1.0) for r in results], dtype=np.float64),
            np.array([image] * len(results), dtype=object)]
    write(str(path), geometry, data, fields, layer=layer, driver="GPKG", geometry_type="Polygon", crs=georef["crs"])


class GeoWriter:
    """Writes each georeferenced raster's boxes as it is finalized: one file per raster, in its CRS."""

    def __init__(self, output: Output, key: str, fmt: GeoFormat, classes: list[str],
                 georefs: dict[int, dict[str, Any] | None]):
        self.output, self.key, self.fmt, self.classes = output, key, fmt, classes
        self.georefs = georefs
        self.files: list[str] = []
        self.features = 0
        self._stems: set[str] = set()

    def __call__(self, rec: dict[str, Any]) -> None:
        georef = self.georefs.get(int(rec["id"]))
        if georef is None or not georef.get("crs") or self.fmt == "none":
            return
        stem = Path(rec["file"]).with_suffix("").as_posix().replace("/", "__")
        stem = stem if stem not in self._stems else f"{stem}-{rec['id']}"
        self._stems.add(stem)
        rel = f"geo/{self.key}/{stem}{SUFFIX[self.fmt]}"
        path = self.output.path(rel)
        if self.fmt == "geojson":
            feats = [f for r in rec["results"] if (f := feature(georef, r, self.classes, rec["file"])) is not None]
            path.write_text(json.dumps(collection(georef, feats)))
        else:
            path.unlink(missing_ok=True)
            write_gpkg(path, stem, georef, rec["results"], self.classes, rec["file"])
        self.output.add(f"geo.{self.key}.{stem}", rel)
        self.files.append(rel)
        self.features += len(rec["results"])

    def details(self) -> dict[str, Any]:
        """What the predictions manifest records under `details.geo`."""
        return {"format": self.fmt, "files": len(self.files), "features": self.features}


def georefs(images: list[Any]) -> dict[int, dict[str, Any] | None]:
    """{image id: {crs, transform} or None} of the readable rasters among `images` (headers only)."""
    from wt_core.raster import georef_of, is_raster

    out: dict[int, dict[str, Any] | None] = {}
    for im in images:
        if is_raster(im.path) and int(im.id) not in out:
            try:
                g = georef_of(im.path)
            except BadInput:  # an unreadable raster becomes a failure record of the job
                continue
            out[int(im.id)] = g
    return out


def geo_format(asked: GeoFormat | None, images: list[Any], found: dict[int, dict[str, Any] | None]) -> GeoFormat:
    """The map format to write. Asked for (not 'none'), every raster must have a CRS and there must be one;
    by default GeoJSON, written for the rasters that have a CRS (photos write nothing)."""
    if asked is None or asked == "none":
        return asked or "geojson"
    from wt_core.raster import is_raster

    rasters = [im for im in images if is_raster(im.path)]
    for im in rasters:
        if int(im.id) in found and not (found[int(im.id)] or {}).get("crs"):
            raise BadInput(f"--geo {asked}: this raster has no CRS, so its boxes cannot be put on a map",
                           im.path, "crs")
    if not any(g and g.get("crs") for g in found.values()):
        raise BadInput(f"--geo {asked}: none of the images is a georeferenced raster (a GeoTIFF with a CRS)",
                       rasters[0].path if rasters else None, "geo")
    return asked
