"""Training on fresh windows of the whole photos every epoch, instead of the same fixed tiles.

`wt-yolo fit --sample windows` on a dataset made by `wt-data tile` whose parent
photos are at hand: each epoch draws as many windows of the tile size as the
training split has tiles, from the whole train photos. A positive window is placed
so a randomly chosen box (every box equally likely, so dense places are drawn
more) lies whole inside it, at a random place in the window; an empty window is a
random place no box touches, in the split's share of empty tiles. A box cut by a
window edge follows the tiler's rule (`wt_core.geometry.clip_to_window`, kept
clipped when at least `min_visibility` of it is inside). Two photos then give
hundreds of distinct views instead of a few dozen fixed tiles.

The Ultralytics side is a `YOLODataset` subclass built by the trainer's own
`build_dataset` (replaced on the trainer at `on_pretrain_routine_start`) and
redrawn at `on_train_epoch_start`; the epoch is shared with data-loader workers
(forked) through a shared integer, the windows being a function of (seed, epoch).
"""

from __future__ import annotations

import math
import multiprocessing
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from wt_core.errors import BadInput
from wt_core.geometry import clip_to_window
from wt_core.manifest import DatasetManifest


@dataclass
class Photo:
    """A whole training photo and its boxes (COCO xywh, 0-based class ids)."""

    path: Path
    width: int
    height: int
    boxes: list[list[float]] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)


@dataclass
class Window:
    photo: int
    window: tuple[int, int, int, int]
    boxes: list[list[float]]
    """In window coordinates (xywh), clipped."""
    classes: list[int]


def window_boxes(photo: Photo, win: tuple[int, int, int, int], min_visibility: float
                 ) -> tuple[list[list[float]], list[int], bool]:
    """The boxes a window keeps (the tiler's rule), their classes, and whether any box touches it."""
    boxes, classes, touched = [], [], False
    for b, c in zip(photo.boxes, photo.classes, strict=True):
        clipped = clip_to_window(b, win)
        if clipped is None:
            continue
        touched = True
        box, vis = clipped
        if vis + 1e-9 >= min_visibility:
            boxes.append(box)
            classes.append(c)
    return boxes, classes, touched


def _place(lo: float, hi: float, length: int, tile: int, rng: random.Random) -> int:
    """A window start along one axis holding [lo, hi] whole when it can, inside [0, length - tile]."""
    top = max(0, length - tile)
    a, b = max(0, math.ceil(hi - tile)), min(top, math.floor(lo))
    return rng.randint(a, b) if a <= b else min(max(0, int(lo)), top)


def draw_windows(photos: list[Photo], n: int, tile: int, empty_share: float, min_visibility: float,
                 rng: random.Random) -> list[Window]:
    """`n` windows of `tile` px: a share `empty_share` of them empty (where such a place is found), the rest
    placed around a box drawn at random."""
    pool = [(i, k) for i, p in enumerate(photos) for k in range(len(p.boxes))]
    n_empty = round(n * empty_share) if pool else n
    out: list[Window] = []
    for j in range(n):
        i = None
        if j < n_empty:
            for _ in range(50):
                i = rng.randrange(len(photos))
                p = photos[i]
                x0, y0 = rng.randint(0, max(0, p.width - tile)), rng.randint(0, max(0, p.height - tile))
                win = (x0, y0, min(x0 + tile, p.width), min(y0 + tile, p.height))
                boxes, classes, touched = window_boxes(p, win, min_visibility)
                if not touched:
                    out.append(Window(i, win, boxes, classes))
                    break
            else:
                i = None
            if i is not None:
                continue
            if not pool:  # no box anywhere and no free place found: any window
                out.append(Window(i or 0, win, boxes, classes))
                continue
        i, k = rng.choice(pool)
        p = photos[i]
        x, y, w, h = p.boxes[k]
        x0 = _place(x, x + w, p.width, tile, rng)
        y0 = _place(y, y + h, p.height, tile, rng)
        win = (x0, y0, min(x0 + tile, p.width), min(y0 + tile, p.height))
        boxes, classes, _ = window_boxes(p, win, min_visibility)
        out.append(Window(i, win, boxes, classes))
    rng.shuffle(out)
    return out


@dataclass
class WindowPlan:
    """What `--sample windows` draws from: the whole train photos, the tile size, the empty share."""

    photos: list[Photo]
    tile: int
    per_epoch: int
    empty_share: float
    min_visibility: float
    seed: int = 0

    def windows(self, epoch: int) -> list[Window]:
        return draw_windows(self.photos, self.per_epoch, self.tile, self.empty_share, self.min_visibility,
                            random.Random(f"{self.seed}-{epoch}"))

    def record(self) -> dict:
        return {"photos": len(self.photos), "tile": self.tile, "windows_per_epoch": self.per_epoch,
                "empty_share": round(self.empty_share, 4), "min_visibility": self.min_visibility}


def window_plan(ds: DatasetManifest, train_split: str, seed: int = 0) -> WindowPlan:
    """The windows of a tiled dataset's train split, drawn from its parent's whole photos."""
    from wt_core.selection import WholeImages

    tiling = (ds.details or {}).get("tiling")
    whole = WholeImages.of_tiled(ds, train_split) if tiling else None
    if whole is None:
        raise BadInput("--sample windows needs a dataset made by wt-data tile whose whole photos are at hand",
                       ds.path, "sample")
    photos = {im.id: Photo(im.path, im.width, im.height) for im in whole.images}
    for a in whole.coco["annotations"]:
        if a.get("bbox") and a["image_id"] in photos:
            photos[a["image_id"]].boxes.append([float(v) for v in a["bbox"]])
            photos[a["image_id"]].classes.append(int(a["category_id"]))
    rec = ds.splits[train_split]
    empty_share = rec.empty_images / rec.images if rec.images else 0.0
    return WindowPlan(list(photos.values()), int(tiling["size"]), rec.images, empty_share,
                      float(tiling.get("min_visibility", 0.5)), seed)


def window_dataset_class():
    """`WindowDataset`, a YOLODataset subclass (built here so Ultralytics is imported only when training)."""
    import cv2
    from ultralytics.data.dataset import YOLODataset

    class WindowDataset(YOLODataset):
        """Ultralytics' training dataset whose items are this epoch's windows of the whole photos."""

        def __init__(self, *args, plan: WindowPlan, **kwargs):
            super().__init__(*args, **kwargs)
            self.plan = plan
            self.epoch = multiprocessing.Value("i", -1)
            self._drawn = -2
            self._photos: dict[int, np.ndarray] = {}
            self.draw(0)

        def draw(self, epoch: int) -> None:
            """Make `epoch`'s windows the items (in this process; workers follow through `self.epoch`)."""
            with self.epoch.get_lock():
                self.epoch.value = epoch
            self._sync()

        def _sync(self) -> None:
            epoch = self.epoch.value
            if epoch == self._drawn:
                return
            self.windows = self.plan.windows(epoch)
            t = float(self.plan.tile)
            self.labels = []
            for w in self.windows:
                b = np.array(w.boxes, np.float32).reshape(-1, 4)
                xywhn = np.stack([(b[:, 0] + b[:, 2] / 2) / t, (b[:, 1] + b[:, 3] / 2) / t, b[:, 2] / t, b[:, 3] / t],
                                 1) if len(b) else np.zeros((0, 4), np.float32)
                self.labels.append({"im_file": str(self.plan.photos[w.photo].path), "shape": (self.plan.tile,) * 2,
                                    "cls": np.array(w.classes, np.float32).reshape(-1, 1), "bboxes": xywhn,
                                    "segments": [], "keypoints": None, "normalized": True, "bbox_format": "xywh"})
            self._drawn = epoch

        def __len__(self) -> int:
            return self.plan.per_epoch

        def get_image_and_label(self, index: int) -> dict:
            self._sync()
            return super().get_image_and_label(index)

        def load_image(self, i: int, rect_mode: bool = True, resize_short: bool = False):
            w = self.windows[i]
            if w.photo not in self._photos:
                im = cv2.imread(str(self.plan.photos[w.photo].path))
                if im is None:
                    raise FileNotFoundError(self.plan.photos[w.photo].path)
                self._photos[w.photo] = im
            x0, y0, x1, y1 = w.window
            t = self.plan.tile
            crop = np.zeros((t, t, 3), np.uint8)  # padded bottom and right, as the tiler pads a small photo
            crop[:y1 - y0, :x1 - x0] = self._photos[w.photo][y0:y1, x0:x1]
            size = max(self.imgsz) if isinstance(self.imgsz, (tuple, list)) else self.imgsz
            im = crop if size == t else cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR)
            if self.augment:  # mosaic draws its other images from this buffer of indices
                self.buffer.append(i)
                if len(self.buffer) >= self.max_buffer_length:
                    self.buffer.pop(0)
            return im, (t, t), im.shape[:2]

    return WindowDataset


class WindowSampling:
    """Ultralytics callbacks: the trainer builds its training dataset as a `WindowDataset`, redrawn each epoch."""

    def __init__(self, plan: WindowPlan):
        self.plan = plan
        self.epochs_drawn = 0
        """Epochs whose training dataset was a `WindowDataset` that drew fresh windows (in the run's record)."""

    def record(self) -> dict:
        return {**self.plan.record(), "epochs_drawn": self.epochs_drawn}

    def attach(self, model) -> None:
        model.add_callback("on_pretrain_routine_start", self._on_pretrain_routine_start)
        model.add_callback("on_train_epoch_start", self._on_train_epoch_start)

    def _on_pretrain_routine_start(self, trainer) -> None:
        from ultralytics.utils import colorstr

        build = trainer.build_dataset
        cls = window_dataset_class()
        plan = self.plan

        def build_dataset(img_path: str, mode: str = "train", batch: int | None = None):
            if mode != "train":
                return build(img_path, mode, batch)
            args = trainer.args
            return cls(img_path=img_path, imgsz=args.imgsz, batch_size=batch, augment=True, hyp=args,
                       rect=False, cache=None, single_cls=args.single_cls or False, stride=32, pad=0.0,
                       prefix=colorstr("windows: "), task=args.task, classes=args.classes, data=trainer.data,
                       plan=plan)

        trainer.build_dataset = build_dataset

    def _on_train_epoch_start(self, trainer) -> None:
        ds = trainer.train_loader.dataset
        if hasattr(ds, "draw"):
            ds.draw(trainer.epoch)
            self.epochs_drawn += 1
