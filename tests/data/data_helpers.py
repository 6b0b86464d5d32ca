"""wt-data test helpers (`from data_helpers import ...`: pytest's pythonpath holds this folder)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import call_cli, written
from PIL import Image

SIZE = (100, 80)  # tiny_coco's images


def wt_data(*args, **kw):
    """`wt-data ARGS` run in this process (helpers.call_cli); tests of the CLI contract use helpers.run_cli."""
    return call_cli("wt-data", *args, **kw)


def imported(*args) -> tuple[dict, Path]:
    """Run wt-data with args that write a dataset; its manifest and directory."""
    return written(wt_data(*args, check=True))


def coco_of(ds_dir: Path, split: str = "all") -> dict:
    m = json.loads((ds_dir / "manifest.json").read_text())
    return json.loads((ds_dir / m["artifacts"][m["splits"][split]["annotations"]]["path"]).read_text())


def box_set(coco: dict, key: str = "file_name") -> set:
    """Annotations as comparable tuples: (image file name, class name, rounded box)."""
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {im["id"]: im[key] for im in coco["images"]}
    return {(files[a["image_id"]], names[a["category_id"]], tuple(round(v, 1) for v in a.get("bbox") or ()))
            for a in coco["annotations"]}




def boxes_by_image(ds_dir: Path) -> dict:
    """Every split's boxes as {image base name: sorted [(class name, x, y, w, h)]}."""
    m = json.loads((ds_dir / "manifest.json").read_text())
    out: dict = {}
    for split in m["splits"]:
        coco = coco_of(ds_dir, split)
        names = {c["id"]: c["name"] for c in coco["categories"]}
        files = {im["id"]: Path(im["file_name"]).name for im in coco["images"]}
        for f in files.values():
            out.setdefault(f, [])
        for a in coco["annotations"]:
            out[files[a["image_id"]]].append((names[a["category_id"]], *a.get("bbox", ())))
    return {k: sorted(v) for k, v in out.items()}


def assert_same_boxes(a: dict, b: dict, atol: float = 0.05) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert len(a[k]) == len(b[k]), k
        for x, y in zip(a[k], b[k], strict=True):
            assert x[0] == y[0] and all(abs(p - q) <= atol for p, q in zip(x[1:], y[1:], strict=True)), (k, x, y)


def tiny_coco(root: Path) -> dict:
    """Three 100x80 images with a box each, COCO category ids starting at 1."""
    (root / "images").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", SIZE, (40 * i, 90, 60)).save(root / "images" / f"im{i}.jpg")
    return {"images": [{"id": i + 1, "file_name": f"im{i}.jpg", "width": SIZE[0], "height": SIZE[1]} for i in range(3)],
            "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1 + i % 2, "bbox": [10, 10, 20, 15]}
                            for i in range(3)],
            "categories": [{"id": 1, "name": "elephant"}, {"id": 2, "name": "zebra"}]}
