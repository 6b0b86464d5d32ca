"""The realistic synthetic survey (tools/survey.py --realistic): what makes it fail the way real surveys do."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image


def test_dense_touching_animals_of_25_to_60_px_and_a_site_shift(tmp_path):
    import survey

    truth = survey.realistic_survey(tmp_path, train=2, val=1, test=2, seed=0, width=800, height=600)
    assert truth["classes"] == ["animal"]
    sites = {r["site"] for r in truth["images"]}
    assert sites == {"train", "val", "test-0", "test-1"}  # the train photos share a site, every other photo has its own
    boxes = [b["bbox"] for r in truth["images"] for b in r["boxes"]]
    sides = np.array([max(b[2], b[3]) for b in boxes])
    assert len(boxes) > 100 and 25 <= np.median(sides) <= 70
    touching = 0  # dense: many animals overlap a neighbour's box
    for r in truth["images"]:
        bs = np.array([b["bbox"] for b in r["boxes"]])
        x0, y0, x1, y1 = bs[:, 0], bs[:, 1], bs[:, 0] + bs[:, 2], bs[:, 1] + bs[:, 3]
        ix = np.minimum(x1[:, None], x1[None]) - np.maximum(x0[:, None], x0[None])
        iy = np.minimum(y1[:, None], y1[None]) - np.maximum(y0[:, None], y0[None])
        inter = (ix > 0) & (iy > 0)
        np.fill_diagonal(inter, False)
        touching += int(inter.any(1).sum())
    assert touching > 0.2 * len(boxes)
    means = {r["site"]: np.asarray(Image.open(tmp_path / "images" / r["file_name"]), np.float32).mean((0, 1))
             for r in truth["images"]}
    assert np.abs(means["train"] - means["val"]).max() > 10  # another ground and colour balance
    coco = json.loads((tmp_path / "wildata" / "datasets" / "survey" / "annotations" / "train.json").read_text())
    assert len(coco["images"]) == 2
