"""wt-data test helpers (importable as data_helpers: tests/data/conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

_spec = importlib.util.spec_from_file_location("wt_tests_root", Path(__file__).parents[1] / "conftest.py")
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)
run_cli, manifest_of, assert_bad_input = root.run_cli, root.manifest_of, root.assert_bad_input


def wt_data(*args, **kw):
    return run_cli("wt-data", *args, **kw)


def imported(*args) -> tuple[dict, Path]:
    """Run wt-data with args that write a dataset; its manifest and directory."""
    proc = wt_data(*args, check=True)
    m = manifest_of(proc)
    return m, Path(proc.stdout.strip()).parent


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
