"""Read a classification dataset manifest into (image path, label) lists, refusing bad input early.

Light on purpose (no torch): the checks here run before the slow imports, so a
wrong dataset is refused within a second.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.manifest import DatasetManifest
from wt_core.manifest_io import load_json
from wt_core.readers import read_dataset

log = get_logger("wt-cls")
Item = tuple[str, int]
Record = tuple[object, str, str, int | None]


@dataclass
class ClassificationData:
    """A dataset manifest and its images per split, as (absolute path, class index)."""

    manifest: DatasetManifest
    splits: dict[str, list[Item]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return list(self.manifest.classes)

    def split(self, name: str) -> list[Item]:
        if name not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise BadInput(f"the dataset has no split {name!r} (splits: {have})", self.manifest.path, "splits")
        return self.splits[name]

    def counts(self, name: str) -> list[int]:
        out = [0] * len(self.classes)
        for _, label in self.split(name):
            out[label] += 1
        return out


def read_classification(ref: str | Path, *, min_classes: int = 2) -> ClassificationData:
    """Read and check a classification dataset (task classify, at least `min_classes` classes)."""
    ds = read_dataset(ref, "classify")
    if len(ds.classes) < min_classes:
        raise BadInput(f"the dataset has {len(ds.classes)} class{'es' if len(ds.classes) != 1 else ''} "
                       f"({', '.join(ds.classes) or 'none'}); a classifier needs at least {min_classes}", ds.path, "classes")
    data = ClassificationData(ds)
    for name in ds.splits:
        data.splits[name] = _read_split(ds, name, data.skipped)
    return data


def split_records(ds: DatasetManifest, name: str) -> list[Record]:
    """Every image of split `name` as (image id, file name, absolute path, class index or None)."""
    split = ds.splits.get(name)
    if split is None:
        raise BadInput(f"the dataset has no split {name!r} (splits: {', '.join(ds.splits) or 'none'})", ds.path, "splits")
    if split.annotations not in ds.artifacts:
        raise BadInput(f"split {name!r} names artifact {split.annotations!r}, which the manifest does not list", ds.path,
                       f"splits.{name}.annotations")
    file = ds.artifact_path(split.annotations)
    coco = load_json(file)
    if not isinstance(coco, dict) or not isinstance(coco.get("images"), list):
        raise BadInput("not a COCO JSON (no images list)", file, "images")
    root = ds.resolve(split.image_root)
    labels: dict[object, set[int]] = {}
    for i, ann in enumerate(coco.get("annotations") or []):
        cid = ann.get("category_id")
        if not isinstance(cid, int) or not 0 <= cid < len(ds.classes):
            raise BadInput(f"category_id {cid!r} is not a class index (0..{len(ds.classes) - 1})", file,
                           f"annotations[{i}].category_id")
        labels.setdefault(ann.get("image_id"), set()).add(cid)
    records: list[Record] = []
    for i, img in enumerate(coco["images"]):
        fname = img.get("file_name")
        if not isinstance(fname, str):
            raise BadInput("image without a file_name", file, f"images[{i}].file_name")
        path = Path(fname) if Path(fname).is_absolute() else root / fname
        found = labels.get(img.get("id"), set())
        records.append((img.get("id"), fname, str(path), next(iter(found)) if len(found) == 1 else (-1 if found else None)))
    return records


def _read_split(ds: DatasetManifest, name: str, skipped: dict[str, int]) -> list[Item]:
    items: list[Item] = []
    for _, _, path, label in split_records(ds, name):
        if label is None or label < 0:
            reason = "unlabelled" if label is None else "several_labels"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        items.append((path, label))
    if skipped:
        log.warning("split %s: skipped images without exactly one class: %s", name, skipped)
    return items


def check_images(items: list[Item], file: Path | str | None = None) -> None:
    """Refuse a missing or unreadable image, naming it (a header read per image: about 0.1 ms)."""
    from PIL import Image, UnidentifiedImageError

    for path, _ in items:
        try:
            with Image.open(path) as im:
                im.size  # noqa: B018 - the header is parsed on open
        except FileNotFoundError:
            raise BadInput("image not found", path, "file_name") from None
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
            raise BadInput(f"unreadable image: {type(e).__name__}: {' '.join(str(e).split())[:120]}", path, "file_name") from None


@dataclass
class TrainVal:
    """The images a fit trains and validates on, computed once."""

    train: list[Item]
    val: list[Item]
    train_split: str
    val_split: str | None
    """None: `val` is held out of the train split."""
    val_source: str
    """The val split's name, or what share of the train split was held out."""


def train_val_items(data: ClassificationData, split: str, val_split: str | None, fraction: float,
                    seed: int) -> TrainVal:
    """The train split's images and the val split's, or without a val split a stratified `fraction` of train."""
    train = data.split(split)
    if val_split is not None:
        return TrainVal(train, data.split(val_split), split, val_split, val_split)
    train, val = holdout(train, fraction, seed)
    return TrainVal(train, val, split, None, f"{fraction:.0%} of {split}")


def holdout(items: list[Item], fraction: float, seed: int) -> tuple[list[Item], list[Item]]:
    """A stratified split of `items` into (train, val), the same for the same seed."""
    by_class: dict[int, list[Item]] = {}
    for it in items:
        by_class.setdefault(it[1], []).append(it)
    rng = random.Random(seed)
    train: list[Item] = []
    val: list[Item] = []
    for label in sorted(by_class):
        group = sorted(by_class[label])
        rng.shuffle(group)
        k = max(1, round(len(group) * fraction)) if len(group) > 1 else 0
        val += group[:k]
        train += group[k:]
    return train, val


_UNREADABLE = re.compile(r"unreadable image: (.+?) \(")


@contextmanager
def reraise_unreadable() -> Iterator[None]:
    """Turn an image that fails to decode while loading (in a DataLoader worker too) into one BadInput line."""
    try:
        yield
    except Exception as e:
        m = _UNREADABLE.search(str(e))
        if m is None:
            raise
        raise BadInput("unreadable image (it fails to decode)", m.group(1), "file_name") from None
