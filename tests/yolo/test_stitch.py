"""Merging boxes across tiles on its own: full-image pixels, one box per animal, class-aware."""

from __future__ import annotations

import numpy as np
import pytest
from wt_core.geometry import tile_grid
from wt_yolo.slicing import Detections, stitch


def det(boxes, scores, classes) -> Detections:
    return Detections(np.asarray(boxes, float).reshape(-1, 4), np.asarray(scores, float), np.asarray(classes, int))


@pytest.mark.parametrize("method", ["nms", "greedy"])
def test_an_animal_cut_by_a_tile_edge_is_one_box(method):
    # a 60x30 animal at x 600..660 in full-image pixels; tiles of 640 with stride 512
    wins = tile_grid(1200, 640, 640, 640, overlap=0.2)
    assert [w[0] for w in wins] == [0, 512, 560]
    left = det([[600, 100, 640, 130]], [0.6], [1])  # tile 0 sees the part left of its edge
    middle = det([[88, 100, 148, 130]], [0.9], [1])  # tile at 512 sees it whole (600-512 = 88)
    right = det([[40, 100, 100, 130]], [0.8], [1])  # tile at 560 sees it whole too
    out = stitch([((0, 0), left), ((512, 0), middle), ((560, 0), right)], method=method)
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes[0], [600, 100, 660, 130])
    assert out.scores[0] == pytest.approx(0.9) and out.classes[0] == 1


def test_greedy_keeps_the_union_of_the_pieces():
    a = det([[0, 0, 60, 30]], [0.7], [0])  # the left 60 px of an animal, cut by the edge of tile 0
    b = det([[0, 0, 50, 30]], [0.6], [0])  # tile 2 (offset 20) sees 20..70
    out = stitch([((0, 0), a), ((20, 0), b)], method="greedy")
    assert len(out) == 1
    np.testing.assert_allclose(out.boxes[0], [0, 0, 70, 30])
    assert out.scores[0] == pytest.approx(0.7)


def test_merging_is_class_aware():
    a = det([[10, 10, 50, 40]], [0.9], [0])
    b = det([[10, 10, 50, 40]], [0.8], [2])  # the same place, another class: kept
    out = stitch([((100, 100), a), ((100, 100), b)])
    assert sorted(out.classes.tolist()) == [0, 2]
    np.testing.assert_allclose(out.boxes, [[110, 110, 150, 140]] * 2)


def test_neighbours_that_only_touch_stay_two_animals():
    a = det([[0, 0, 40, 40]], [0.9], [0])
    b = det([[0, 0, 40, 40]], [0.8], [0])
    out = stitch([((0, 0), a), ((38, 0), b)])  # overlap 2 px of 40: two animals side by side
    assert len(out) == 2


def test_an_image_predicted_whole_keeps_the_detectors_own_boxes():
    nested = det([[0, 0, 100, 100], [10, 10, 30, 30]], [0.9, 0.8], [0, 0])  # a calf beside its mother: ios 1
    assert len(stitch([((0, 0), nested)])) == 2
    assert len(stitch([((0, 0), nested), ((500, 0), Detections.empty())])) == 1  # across tiles: merged


def test_sorted_by_score_and_capped_at_max_det():
    tiles = [((i * 100, 0), det([[0, 0, 10, 10]], [i / 10], [0])) for i in range(1, 8)]
    out = stitch(tiles, max_det=3)
    assert out.scores.tolist() == pytest.approx([0.7, 0.6, 0.5])
    assert out.boxes[:, 0].tolist() == [700, 600, 500]


def test_no_boxes_and_coco_results():
    assert len(stitch([((0, 0), Detections.empty())])) == 0
    res = det([[10, 20, 40, 60]], [0.5], [2]).coco(image_id=7)
    assert res == [{"image_id": 7, "category_id": 2, "bbox": [10.0, 20.0, 30.0, 40.0], "score": 0.5}]


def test_predict_sliced_batches_tiles_across_images_and_keeps_their_order():
    from wt_core.slicing import Slicing
    from wt_yolo.slicing import predict_sliced

    calls = []

    def forward(crops):  # one box in the middle of every crop, its score the crop's mean pixel value
        calls.append(len(crops))
        return [det([[c.shape[1] / 2 - 5, c.shape[0] / 2 - 5, c.shape[1] / 2 + 5, c.shape[0] / 2 + 5]],
                    [c.mean() / 255], [0]) for c in crops]

    images = [np.full((700, 1000, 3), 10 * (i + 1), np.uint8) for i in range(3)]  # 2x2 tiles of 640 each
    out = list(predict_sliced(iter(images), forward, Slicing(tile=640, overlap=0.2, batch=3)))
    assert calls == [3, 3, 3, 3] and len(out) == 3
    for i, d in enumerate(out):
        assert len(d) == 4 and d.scores[0] == pytest.approx(10 * (i + 1) / 255)
        assert d.boxes[:, 0].min() == 315 and d.boxes[:, 2].max() == 685  # tile centres at 320 and 680 (x0 = 360)
