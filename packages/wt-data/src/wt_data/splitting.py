"""`wt-data split`: train/val/test by ratios, seeded, stratified by class presence, grouped by a metadata key.

Groups (all images sharing a site, flight or camera; or each image alone) are
placed largest first. A group goes to the split that needs its classes most
among the splits it fits in without passing their target size; when it fits
in none, to the split furthest below its target. So no group lands in two
splits and every split ends within one group of its target size.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from wt_core.console import get_logger, print_table
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.outputs import Output
from wt_core.readers import read_dataset

from wt_data.dataset import assemble, gather, write_dataset

log = get_logger("wt-data")


def assign_groups(sizes: dict[Any, int], classes: dict[Any, list[int]], ratios: list[float], seed: int = 0,
                  stratify: bool = True) -> dict[Any, int]:
    """Split index per group.

    `sizes[g]` is the number of images in group g; `classes[g][c]` the number of
    its images where class c is present (any extra column, like 'empty', counts too).
    """
    total = sum(sizes.values())
    n_cls = len(next(iter(classes.values()), []))
    class_totals = [sum(v[c] for v in classes.values()) for c in range(n_cls)]
    target = [r * total for r in ratios]
    count = [0.0] * len(ratios)
    have = [[0] * n_cls for _ in ratios]
    groups = list(sizes)
    random.Random(seed).shuffle(groups)
    groups.sort(key=lambda g: -sizes[g])  # stable: ties keep the seeded order
    out: dict[Any, int] = {}
    for g in groups:
        n = sizes[g]
        fits = [s for s in range(len(ratios)) if count[s] + n <= target[s] + 1e-9]
        if fits and stratify:
            vec = classes[g]

            def need(s: int, vec: list[int] = vec) -> float:
                cls = sum(vec[c] * (ratios[s] * class_totals[c] - have[s][c]) / class_totals[c]
                          for c in range(n_cls) if class_totals[c])
                return cls + (target[s] - count[s]) / max(total, 1)
            best = max(fits, key=need)
        elif fits:
            best = max(fits, key=lambda s: target[s] - count[s])
        else:
            best = max(range(len(ratios)), key=lambda s: target[s] - count[s])
        out[g] = best
        count[best] += n
        for c in range(n_cls):
            have[best][c] += classes[g][c]
    return out


@command("wt-data", "split")
def split(dataset: str, ratios: list[float] = [0.7, 0.2, 0.1], names: list[str] | None = None,  # noqa: B006
          group_by: str | None = None, stratify: bool = True, seed: int = 0, by: str | None = None,
          out: Path | None = None, overwrite: bool = False) -> DatasetManifest:
    """Split a dataset into train/val/test (all its splits are pooled first).

    Args:
        dataset: The dataset manifest (a manifest.json, its directory, or - for a path on stdin).
        ratios: The fraction of images per split; they are normalised to sum to 1.
        names: The split names, one per ratio (default train, val, test, then split3, split4...).
        group_by: An image metadata field (site, flight, camera): images sharing a value stay in one split.
        stratify: Balance class presence (and empty images) across splits.
        seed: The random seed; the same seed gives the same split.
        by: Take each image's split from this metadata field (a CSV column, a --meta.pattern group, a COCO
            image field) instead of drawing it: its values must be train, val or test (valid, validation too).
        out: The output directory (default runs/data/split/<id>).
        overwrite: Replace an existing output directory.
    """
    ds = read_dataset(dataset)
    if by is not None:
        return split_by_field(ds, by, out, overwrite)
    names = names or ["train", "val", "test", *(f"split{i}" for i in range(3, len(ratios)))][:len(ratios)]
    if len(ratios) != len(names) or not ratios:
        raise BadInput(f"{len(ratios)} ratios for {len(names)} split names", None, "ratios")
    if any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise BadInput("ratios must be non-negative and not all zero", None, "ratios")
    if len(set(names)) != len(names):
        raise BadInput("split names must be distinct", None, "names")
    ratios = [r / sum(ratios) for r in ratios]
    images, anns, root = gather(ds)
    groups: dict[Any, list[dict]] = {}
    for i, im in enumerate(images):
        if group_by is None:
            key: Any = im["id"]
        elif group_by not in im or im[group_by] in (None, ""):
            raise BadInput(f"image {im['file_name']!r} has no {group_by!r} metadata (import it with --meta)",
                           ds.path, f"images[{i}].{group_by}")
        else:
            key = im[group_by]
        groups.setdefault(key, []).append(im)
    n_cls = len(ds.classes)
    presence: dict[Any, list[int]] = {}
    for key, ims in groups.items():
        v = [0] * (n_cls + 1)
        for im in ims:
            present = {a["category_id"] for a in anns[im["id"]]}
            for c in present:
                v[c] += 1
            if not present:
                v[n_cls] += 1
        presence[key] = v
    where = assign_groups({k: len(v) for k, v in groups.items()}, presence, ratios, seed, stratify)
    if group_by and len(groups) < sum(1 for r in ratios if r > 0):
        log.warning("only %d %s values for %d splits: some splits stay empty", len(groups), group_by, len(ratios))
    per_split: dict[str, tuple[dict, Path]] = {}
    for s, name in enumerate(names):
        chosen = [im for im in images if where[im["id"] if group_by is None else im[group_by]] == s]
        per_split[name] = (assemble(chosen, anns, ds.classes), root)
    output = Output("wt-data", "split", out, overwrite=overwrite)
    m = write_dataset(output, task=ds.task, classes=ds.classes, splits=per_split, report=dict(ds.report), parents=[ds],
                      details={"group_by": group_by, "groups": {n: sorted({str(im.get(group_by)) for im in per_split[n][0]["images"]})
                                                                for n in names} if group_by else {}})
    rows = [[n, s.images, s.empty_images, s.boxes, *s.per_class] for n, s in m.splits.items()]
    print_table("class balance per split", ["split", "images", "empty", "boxes", *ds.classes], rows)
    return m


def split_by_field(ds: DatasetManifest, field: str, out: Path | None, overwrite: bool) -> DatasetManifest:
    """Each image to the split its metadata field names (fixed splits the user already has)."""
    from wt_data.formats.common import split_name

    images, anns, root = gather(ds)
    chosen: dict[str, list[dict]] = {}
    for i, im in enumerate(images):
        value = im.get(field)
        if value in (None, ""):
            raise BadInput(f"image {im['file_name']!r} has no {field!r} metadata (import it with --meta)", ds.path,
                           f"images[{i}].{field}")
        chosen.setdefault(split_name(str(value), ds.path, f"images[{i}].{field}"), []).append(im)
    per_split = {name: (assemble(ims, anns, ds.classes), root) for name, ims in sorted(chosen.items())}
    output = Output("wt-data", "split", out, overwrite=overwrite)
    m = write_dataset(output, task=ds.task, classes=ds.classes, splits=per_split, report=dict(ds.report), parents=[ds],
                      details={"by": field})
    rows = [[n, s.images, s.empty_images, s.boxes, *s.per_class] for n, s in m.splits.items()]
    print_table(f"splits by {field}", ["split", "images", "empty", "boxes", *ds.classes], rows)
    return m
