"""Tile grids cover every pixel without padding; NMS and greedy merging on hand-made cases."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from wt_core.geometry import clip_to_window, merge_greedy, nms, tile_grid, tile_starts


@given(length=st.integers(1, 5000), tile=st.integers(16, 1024), overlap=st.floats(0, 0.9))
def test_tile_starts_cover_the_axis(length, tile, overlap):
    stride = max(1, int(round(tile * (1 - overlap))))
    starts = tile_starts(length, tile, stride)
    assert starts[0] == 0
    ends = [min(s + tile, length) for s in starts]
    assert ends[-1] == length  # the last tile aligns to the edge
    assert all(s >= 0 for s in starts) and all(e - s == min(tile, length) for s, e in zip(starts, ends, strict=True))
    assert all(b <= a + tile for a, b in zip(starts, starts[1:], strict=False))  # no gap between tiles


def test_tile_grid_small_image_is_one_tile():
    assert tile_grid(300, 200, 640, 640) == [(0, 0, 300, 200)]


def test_clip_to_window():
    box, vis = clip_to_window([90, 10, 20, 10], (100, 0, 200, 100))
    assert box == [0, 10, 10, 10] and vis == 0.5
    assert clip_to_window([0, 0, 10, 10], (100, 0, 200, 100)) is None


def test_nms_class_aware():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [0, 3]
    assert nms(boxes, scores, 0.5, classes=np.array([0, 0, 1, 0])).tolist() == [0, 2, 3]


def test_greedy_merge_joins_an_animal_cut_by_a_tile_edge():
    # left tile saw the whole animal, right tile only its cut-off right half
    boxes = np.array([[95, 10, 125, 30], [100, 10, 125, 30]])
    merged, scores, kept = merge_greedy(boxes, np.array([0.9, 0.7]), iou=0.5)
    assert merged.tolist() == [[95, 10, 125, 30]] and kept.tolist() == [0]
    assert nms(boxes, np.array([0.9, 0.7]), 0.5, metric="ios").tolist() == [0]
