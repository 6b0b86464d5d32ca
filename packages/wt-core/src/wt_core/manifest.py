"""The manifest schema: one pydantic model per kind (contract section 2).

A manifest is one JSON object: the common fields, then the body of its kind.
Paths inside are relative to the manifest's directory; data a tool did not
produce (a user's image folder) may be absolute.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, model_serializer

SCHEMA = "wildtrain.manifest/1"
SCHEMA_NAME, SCHEMA_MAJOR = SCHEMA.split("/")
KINDS = ("dataset", "run", "predictions", "evaluation", "study", "model")
Task = Literal["detect", "classify"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Artifact(_Strict):
    """A file beside the manifest."""

    path: str
    sha256: str
    bytes: int


class Parent(_Strict):
    """A manifest this one was made from.

    It is found relative to the child first (`relpath`), so a project tree still
    works after it is moved or copied whole; then under WT_PARENTS_ROOT; then at
    `path` as recorded. The sha256 guards its content wherever it is found.
    """

    kind: str
    id: str
    path: str
    """The parent's manifest.json: absolute, or relative to this manifest's directory."""
    sha256: str
    relpath: str | None = None
    """The parent's manifest.json relative to this manifest's directory (absent in manifests made before it)."""

    @model_serializer(mode="wrap")
    def _without_missing_relpath(self, handler: Any) -> Any:
        # an old manifest dumps exactly as it was read: a parent's digest of it stays valid
        data = handler(self)
        if data.get("relpath") is None:
            data.pop("relpath", None)
        return data


class Producer(_Strict):
    tool: str
    command: str
    version: str
    argv: list[str] = []
    config: dict[str, Any] = {}


class Tracking(_Strict):
    uri: str
    experiment_id: str
    run_id: str


class ManifestBase(_Strict):
    schema_: str = Field(SCHEMA, alias="schema")
    kind: str
    id: str
    created: datetime
    producer: Producer
    parents: list[Parent] = []
    artifacts: dict[str, Artifact] = {}
    details: dict[str, Any] = {}
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path:
        """The manifest.json this object was read from or written to."""
        if self._path is None:
            raise ValueError("this manifest has not been written or read from disk")
        return self._path

    @property
    def root(self) -> Path:
        """The output directory the manifest's relative paths start from."""
        return self.path.parent

    def artifact_path(self, name: str) -> Path:
        return self.root / self.artifacts[name].path

    def resolve(self, rel: str | Path) -> Path:
        """A path recorded in the manifest, made absolute."""
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def parent(self, kind: str) -> Parent | None:
        return next((p for p in self.parents if p.kind == kind), None)

    def parent_path(self, parent: Parent) -> Path:
        """Where `parent`'s manifest.json is: relative to this one first, then under WT_PARENTS_ROOT, then as recorded."""
        from wt_core.manifest_io import locate_parent

        return locate_parent(self, parent)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class DatasetSplit(_Strict):
    """One split: its COCO JSON (an artifact name) and the root its file names start from."""

    annotations: str
    image_root: str
    images: int = 0
    boxes: int = 0
    empty_images: int = 0
    per_class: list[int] = []
    points: int = 0
    """Point annotations (one click per animal: a COCO annotation with `point` [x, y] and no bbox)."""


class DatasetManifest(ManifestBase):
    kind: Literal["dataset"] = "dataset"
    task: Task
    classes: list[str]
    splits: dict[str, DatasetSplit]
    report: dict[str, int] = {}
    """Items skipped, clipped or dropped, by reason: nothing is dropped silently."""
    views: dict[str, str] = {}
    """Framework views (yolo, mmdet) derived on demand, cached in the directory."""


class RunManifest(ManifestBase):
    kind: Literal["run"] = "run"
    framework: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """The trainer that made the run (yolo, mmdet, cls, or any trainer that declares a predictor plugin)."""
    task: Task
    classes: list[str]
    dataset_id: str
    weights: dict[str, str] = {}
    """Role (best, last) to artifact name."""
    imgsz: int | None = None
    metrics: dict[str, float] = {}
    tracking: Tracking | None = None


class GeoRef(_Strict):
    """Where a raster lies on the map: map x = a*col + b*row + c, map y = d*col + e*row + f (pixel corners)."""

    crs: str | None
    """'EPSG:n', or WKT when the CRS has no EPSG code."""
    transform: list[float]
    """The affine transform [a, b, c, d, e, f] (rasterio's order)."""


class PredictionsManifest(ManifestBase):
    kind: Literal["predictions"] = "predictions"
    task: Task
    classes: list[str]
    dataset_id: str | None = None
    run_id: str | None = None
    splits: dict[str, str]
    """Split (or 'images') to the artifact holding COCO results JSON."""
    thresholds: dict[str, float] = {}
    slicing: dict[str, Any] | None = None
    georef: dict[str, dict[str, GeoRef]] = {}
    """Split (or 'images') to image id to the CRS and transform of each georeferenced raster predicted."""


class EvaluationManifest(ManifestBase):
    kind: Literal["evaluation"] = "evaluation"
    task: Task
    dataset_id: str
    split: str
    predictions_id: str | None = None
    metrics: dict[str, float] = {}
    per_class: dict[str, dict[str, float]] = {}


class StudyManifest(ManifestBase):
    kind: Literal["study"] = "study"
    direction: Literal["minimize", "maximize"]
    objective: str
    n_trials: int
    best_value: float | None = None
    best_params: dict[str, Any] = {}
    tracking: Tracking | None = None


class ModelManifest(ManifestBase):
    kind: Literal["model"] = "model"
    name: str
    version: str
    uri: str
    framework: str
    task: Task
    classes: list[str]
    aliases: list[str] = []
    tracking: Tracking | None = None


Manifest = Annotated[
    DatasetManifest | RunManifest | PredictionsManifest | EvaluationManifest | StudyManifest | ModelManifest,
    Field(discriminator="kind"),
]
MODELS: dict[str, type[ManifestBase]] = {
    "dataset": DatasetManifest,
    "run": RunManifest,
    "predictions": PredictionsManifest,
    "evaluation": EvaluationManifest,
    "study": StudyManifest,
    "model": ModelManifest,
}
_adapter: TypeAdapter[Any] | None = None


def adapter() -> TypeAdapter[Any]:
    global _adapter
    if _adapter is None:
        _adapter = TypeAdapter(Manifest)
    return _adapter


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every kind, by kind."""
    return {kind: model.model_json_schema(by_alias=True) for kind, model in MODELS.items()}
