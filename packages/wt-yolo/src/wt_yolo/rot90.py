"""Rotations by 90 degrees as a training augmentation (`--ultralytics.rot90 P`).

An aerial photo has no up. Ultralytics' vertical and horizontal flips give four
of the eight ways a square view can lie (the identity, two flips, the half
turn); a quarter turn with probability 0.5 on top of them gives all eight,
equally likely. Ultralytics' `degrees` rotates by any angle and enlarges the
boxes to hold the rotated corners; a quarter turn keeps every box exact.

The quarter turn runs on each training sample after Ultralytics' own
augmentations and before its `Format`, in the dataset the trainer builds
(`trainer.build_dataset`, replaced at `on_pretrain_routine_start`); the dataset's
`build_transforms` is wrapped too, since closing mosaic builds the transforms
again.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from wt_core import console

log = console.get_logger("wt-yolo")


def rotate_points(xy: np.ndarray, w: float) -> np.ndarray:
    """Points (..., 2) of an image `w` wide after `np.rot90(img)` (a quarter turn counter-clockwise)."""
    out = xy.copy()
    out[..., 0], out[..., 1] = xy[..., 1], w - xy[..., 0]
    return out


def rotate_boxes(xyxy: np.ndarray, w: float) -> np.ndarray:
    """Boxes (n, 4, xyxy) of an image `w` wide after `np.rot90(img)`."""
    x1, y1, x2, y2 = xyxy[:, 0], xyxy[:, 1], xyxy[:, 2], xyxy[:, 3]
    return np.stack([y1, w - x2, y2, w - x1], axis=1).astype(xyxy.dtype)


class RandomRot90:
    """A quarter turn of a training sample (image and instances) with probability `p`."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, labels: dict[str, Any]) -> dict[str, Any]:
        if random.random() >= self.p:
            return labels
        img = labels["img"]
        instances = labels["instances"]
        w = 1.0 if instances.normalized else float(img.shape[1])
        labels["img"] = np.ascontiguousarray(np.rot90(img))
        fmt = instances._bboxes.format
        instances.convert_bbox(format="xyxy")
        segments = rotate_points(instances.segments, w) if len(instances.segments) else instances.segments
        keypoints = instances.keypoints
        if keypoints is not None:
            keypoints = keypoints.copy()
            keypoints[..., :2] = rotate_points(keypoints[..., :2], w)
        instances.update(rotate_boxes(instances.bboxes, w), segments, keypoints)
        instances.convert_bbox(format=fmt)
        if "resized_shape" in labels:
            labels["resized_shape"] = labels["img"].shape[:2]
        return labels


def with_rot90(transforms, p: float):
    """Ultralytics' training transforms with the quarter turn inserted before the last (`Format`)."""
    transforms.insert(len(transforms.transforms) - 1, RandomRot90(p))
    return transforms


class Rot90:
    """Ultralytics callbacks: the training dataset's transforms get the quarter turn."""

    def __init__(self, p: float):
        self.p = p

    def attach(self, model) -> None:
        model.add_callback("on_pretrain_routine_start", self._on_pretrain_routine_start)

    def _on_pretrain_routine_start(self, trainer) -> None:
        build, p = trainer.build_dataset, self.p

        def build_dataset(img_path: str, mode: str = "train", batch: int | None = None):
            ds = build(img_path, mode, batch)
            if mode == "train" and ds.augment:
                rebuild = ds.build_transforms

                def build_transforms(hyp):
                    log.info("training views turned by 90 degrees with probability %g (transforms rebuilt)", p)
                    return with_rot90(rebuild(hyp), p)

                ds.build_transforms = build_transforms
                ds.transforms = with_rot90(ds.transforms, p)
                log.info("training views turned by 90 degrees with probability %g", p)
            return ds

        trainer.build_dataset = build_dataset
