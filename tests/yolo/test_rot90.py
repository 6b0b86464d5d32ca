"""Quarter turns of training views: every box stays exact (checked against the turned pixels of a painted image)."""

from __future__ import annotations

import numpy as np
import pytest
from ultralytics.utils.instance import Instances
from wt_yolo.rot90 import RandomRot90


def painted(h: int, w: int, boxes: list[list[int]]) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        img[y1:y2, x1:x2, 0] = i + 1
    return img


def boxes_from_pixels(img: np.ndarray, n: int) -> list[list[int]]:
    out = []
    for i in range(n):
        ys, xs = np.nonzero(img[..., 0] == i + 1)
        out.append([int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1])
    return out


@pytest.mark.parametrize("normalized", [False, True])
def test_turned_boxes_cover_the_turned_pixels(normalized):
    h, w = 120, 200  # not square: the turn swaps the sides
    boxes = [[0, 0, 30, 20], [150, 90, 200, 120], [60, 40, 61, 100]]  # corners, edges, a one-pixel-wide box
    img = painted(h, w, boxes)
    xyxy = np.array(boxes, np.float32)
    if normalized:
        xyxy = xyxy / np.array([w, h, w, h], np.float32)
    inst = Instances(xyxy.copy(), bbox_format="xyxy", normalized=normalized)
    inst.convert_bbox("xywh")  # as Ultralytics' flips leave them
    out = RandomRot90(p=1.0)({"img": img, "instances": inst, "cls": np.zeros((3, 1))})
    assert out["img"].shape == (w, h, 3)
    got = out["instances"]
    assert got._bboxes.format == "xywh"
    got.convert_bbox("xyxy")
    turned = got.bboxes * (np.array([h, w, h, w]) if normalized else 1)
    assert np.allclose(turned, boxes_from_pixels(out["img"], 3), atol=1e-3)


def test_probability_zero_leaves_the_sample():
    img = painted(50, 60, [[1, 2, 10, 20]])
    inst = Instances(np.array([[1, 2, 10, 20]], np.float32), bbox_format="xyxy", normalized=False)
    out = RandomRot90(p=0.0)({"img": img, "instances": inst})
    assert out["img"] is img and np.array_equal(out["instances"].bboxes, [[1, 2, 10, 20]])
