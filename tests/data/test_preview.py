"""wt-data preview: a seeded contact sheet with boxes drawn in class colours where the boxes are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from data_helpers import coco_of, imported, wt_data
from helpers import assert_bad_input
from PIL import Image
from wt_core.contact_sheet import class_colour
from wt_data.preview import contact_sheet


@pytest.fixture(scope="session")
def small_ds(small_aerial, tmp_path_factory):
    out = tmp_path_factory.mktemp("preview") / "ds"
    imported("import", "--source", small_aerial / "coco.json", "--out", out)
    return out


def _near(pixels: np.ndarray, x: float, y: float, colour, r: int = 2) -> bool:
    x, y = int(round(x)), int(round(y))
    patch = pixels[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3)
    return bool((np.abs(patch.astype(int) - np.array(colour)).sum(axis=1) <= 30).any())


def test_boxes_are_drawn_where_they_are_in_class_colours(small_ds, tmp_path):
    res = contact_sheet(small_ds, tmp_path / "sheet.png", n=4, seed=1, size=300)
    assert len(res["cells"]) == 4
    with Image.open(tmp_path / "sheet.png") as im:
        assert im.format == "PNG" and im.size == (2 * 308 + 8, 2 * (308 + 18) + 24 + 8)
        pixels = np.asarray(im.convert("RGB"))
    coco = coco_of(small_ds)
    checked = 0
    for cell in res["cells"]:
        (ox, oy), k = cell["origin"], cell["scale"]
        for a in (a for a in coco["annotations"] if a["image_id"] == cell["image_id"]):
            x, y, w, h = a["bbox"]
            # the left edge at mid-height (the class name sits above the box, not on this edge)
            assert _near(pixels, ox + x * k, oy + (y + h / 2) * k, class_colour(a["category_id"])), a
            checked += 1
    assert checked >= 5


def test_seeded_and_filtered(small_ds, tmp_path):
    a = contact_sheet(small_ds, tmp_path / "a.png", n=3, seed=7)
    b = contact_sheet(small_ds, tmp_path / "b.png", n=3, seed=7)
    c = contact_sheet(small_ds, tmp_path / "c.png", n=3, seed=8)
    assert a["cells"] == b["cells"] and (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert [x["image_id"] for x in a["cells"]] != [x["image_id"] for x in c["cells"]]
    coco = coco_of(small_ds)
    annotated = {x["image_id"] for x in coco["annotations"]}
    empty = contact_sheet(small_ds, tmp_path / "e.png", n=10, seed=0, empty=True)
    assert empty["cells"] and all(x["image_id"] not in annotated for x in empty["cells"])
    zebra = coco["categories"][[c["name"] for c in coco["categories"]].index("zebra")]["id"]
    with_zebra = {x["image_id"] for x in coco["annotations"] if x["category_id"] == zebra}
    only = contact_sheet(small_ds, tmp_path / "z.png", n=10, seed=0, classes=["zebra"])
    assert {x["image_id"] for x in only["cells"]} == with_zebra


def test_cli_writes_the_png_and_refuses_what_it_cannot(small_ds, tmp_path):
    proc = wt_data("preview", "--dataset", small_ds, "--n", "2", "--out", tmp_path / "p.png", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["path"] == str((tmp_path / "p.png").resolve()) and len(doc["cells"]) == 2
    assert_bad_input(wt_data("preview", "--dataset", small_ds, "--out", tmp_path / "p.png"), "exists")
    assert_bad_input(wt_data("preview", "--dataset", small_ds, "--classes", "[lion]", "--out", tmp_path / "q.png"),
                     "unknown classes")
    assert not (tmp_path / "q.png").exists()


def test_out_is_named_as_a_user_expects(small_ds, tmp_path):
    """`--out prev` writes prev.png (a PNG, named so); `--out folder/` writes the default name inside it."""
    proc = wt_data("preview", "--dataset", small_ds, "--n", "2", "--out", tmp_path / "prev", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["path"] == str((tmp_path / "prev.png").resolve())
    assert (tmp_path / "prev.png").read_bytes().startswith(b"\x89PNG") and not (tmp_path / "prev").exists()
    (tmp_path / "sheets").mkdir()
    proc = wt_data("preview", "--dataset", small_ds, "--n", "2", "--seed", "3", "--out", tmp_path / "sheets", "--json")
    assert proc.returncode == 0, proc.stderr
    path = Path(json.loads(proc.stdout)["path"])
    assert path.parent == (tmp_path / "sheets").resolve() and path.name.endswith("-3.png") and path.is_file()
