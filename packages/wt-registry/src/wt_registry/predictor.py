"""The predictor a registered model becomes: full-size images in, animals out.

A detector, then optionally a classifier that re-labels each box from its crop:
the score becomes detector score x classifier score, and boxes it calls
background are dropped unless `keep_background`. A classifier alone labels
whole images (one row per image, the box being the whole image). Each stage is
the predictor of the trainer that made its run, found through its plugin
(`wt_registry.plugins`): a detector predicts the full image tile by tile and
merges the boxes across tiles, as the trainer's own `predict` command does.

The configuration is the JSON `model.json` stored with the model; the weights
are files beside it. Images are encoded bytes, base64 strings, RGB arrays
(H, W, 3), or local paths where the caller allows them (`paths`): any path for
Python code that loads the model itself, none or only those under a root
directory behind a server (see pyfunc_model.py). Results are one list of
detections per image.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from wt_core.errors import BadInput
from wt_core.predictor import ClassifierPredictor, DetectorPredictor

from wt_registry import plugins

CONFIG_FORMAT = 1
COLUMNS = ["image_index", "image", "x1", "y1", "x2", "y2", "score", "class_id", "class_name"]
ANY = "any"
"""`paths=ANY`: any local path may be read (Python code that loads a model is trusted with its own files)."""


@dataclass
class Detection:
    """One animal: box [x1, y1, x2, y2] in full-image pixels, score, class id and name."""

    box: list[float]
    score: float
    class_id: int
    class_name: str
    detector_score: float | None = None
    classifier_score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"box": [float(v) for v in self.box], "score": float(self.score), "class_id": int(self.class_id),
                "class_name": self.class_name}


def refusal(index: int, paths: str | Path | None) -> BadInput:
    """The one message a served model gives for any image it cannot take: it names no server path and
    says nothing of whether a file exists."""
    what = "base64-encoded image bytes" + (" or the path of an image under the serving root" if paths else "")
    return BadInput(f"image {index} is not an image this model accepts: send {what}", None, "image")


def _local_file(text: str, paths: str | Path | None) -> Path | None:
    """The file `text` names, when `paths` allows reading it: anywhere (ANY), or inside the root `paths`
    once symlinks and `..` are resolved; else None."""
    if paths is None or not text or len(text) >= 4096 or "\x00" in text:
        return None
    try:
        if paths == ANY:
            p = Path(text).expanduser()
        else:  # no `~`: the client names files relative to the root, or absolute ones inside it
            root = Path(paths).resolve()
            p = Path(text)
            p = (p if p.is_absolute() else root / p).resolve()
            if not p.is_relative_to(root):
                return None
        return p if p.is_file() else None
    except (OSError, RuntimeError, ValueError):  # an unknown ~user, a name too long ...: not a file we read
        return None


def decode_image(item: Any, paths: str | Path | None = ANY) -> tuple[np.ndarray, str | None]:
    """An image as a BGR uint8 array (OpenCV's order, as the trainers read files) and the path read, if any.

    `item` is a base64 string (optionally a `data:` URL), encoded bytes, a PIL image, an RGB array
    (H, W, 3) / grey array (H, W), or a local path that `paths` allows (ANY: any file; a directory:
    files under it; None: no file).
    """
    import cv2

    if isinstance(item, np.ndarray):
        arr = item
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise BadInput(f"an image array must be (H, W, 3) RGB, got shape {arr.shape}", None, "image")
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr[..., :3][..., ::-1]), None
    if hasattr(item, "convert") and hasattr(item, "size"):  # a PIL image
        return decode_image(np.asarray(item.convert("RGB")))
    if isinstance(item, (bytes, bytearray)):
        img = cv2.imdecode(np.frombuffer(bytes(item), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise BadInput("cannot decode these image bytes", None, "image")
        return img, None
    if isinstance(item, (str, Path)):
        text = str(item)
        file = _local_file(text, paths)
        if file is not None:
            img = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if img is None:
                raise BadInput("cannot read this image", text, "image")
            return img, text
        payload = text.split(",", 1)[1] if text.startswith("data:") else text
        try:
            raw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            what = "an existing image file nor " if paths == ANY else ""
            raise BadInput(f"neither {what}base64-encoded image bytes", text[:200] if paths == ANY else None,
                           "image") from None
        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR) if raw else None
        if img is None:
            raise BadInput("base64 data that is not an image", None, "image")
        return img, None
    raise BadInput(f"unsupported image type {type(item).__name__}", None, "image")


def crop_box(rgb: np.ndarray, box: Sequence[float], margin: float = 0.0) -> np.ndarray:
    """The pixels of a box (grown by `margin` of its size on each side), clipped to the image, at least 1 px."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    a, b = int(np.floor(max(0.0, x1 - mx))), int(np.floor(max(0.0, y1 - my)))
    c, d = int(np.ceil(min(float(w), x2 + mx))), int(np.ceil(min(float(h), y2 + my)))
    a, b = min(a, w - 1), min(b, h - 1)
    return rgb[b:max(d, b + 1), a:max(c, a + 1)]


class Predictor:
    """A registered WildTrain model, ready to predict (see the module's docstring).

    `predict(images)` returns, per image, a list of `Detection`; `predict_frame(images)`
    the same as one pandas DataFrame (one row per detection, the columns of the model's
    signature). `config` is the model's `model.json`; `metadata` what MLflow records.
    """

    def __init__(self, config: dict[str, Any], files: dict[str, str | Path], device: str | None = None):
        if config.get("format") != CONFIG_FORMAT:
            raise BadInput(f"unsupported model config format {config.get('format')!r}", None, "model.json")
        self.config = config
        self.task: str = config["task"]
        self.classes: list[str] = list(config["classes"])
        self.metadata: dict[str, Any] = {}
        self.uri: str | None = None
        self.version: str | None = None
        self.device = device
        self.detector: DetectorPredictor | None = None
        self.classifier: ClassifierPredictor | None = None
        det, cls = config.get("detector"), config.get("classifier")
        if det:
            self.detector = plugins.load_detector(det, [Path(files[n]) for n in part_files(det)], device)
        if cls:
            self.classifier = plugins.load_classifier(cls, [Path(files[n]) for n in part_files(cls)], device)

    @classmethod
    def from_dir(cls, directory: str | Path, device: str | None = None) -> Predictor:
        """A predictor from a directory holding model.json and the files it names (a pulled model's artifacts)."""
        d = Path(directory)
        config = json.loads((d / "model.json").read_text())
        names = [n for part in (config.get("detector"), config.get("classifier")) if part for n in part_files(part)]
        return cls(config, {n: d / n for n in names}, device=device)

    def predict(self, images: Iterable[Any] | Any, conf: float | None = None,
                paths: str | Path | None = ANY) -> list[list[Detection]]:
        """Detections of each image (see `decode_image` for what an image may be, and `paths`).

        `conf` is this call's score threshold (None: the registered one); it is an argument of the
        detector's forward pass, never state, so concurrent calls (a server's threads) each get their own."""
        return self._predict(self._decode(images, paths), conf)

    def _decode(self, images: Iterable[Any] | Any, paths: str | Path | None) -> list[tuple[np.ndarray, str | None]]:
        if isinstance(images, (str, Path, bytes, bytearray, np.ndarray)) or hasattr(images, "convert"):
            images = [images]
        out = []
        for i, im in enumerate(images):
            try:
                out.append(decode_image(im, paths))
            except BadInput:
                if paths == ANY:
                    raise
                raise refusal(i, paths) from None
        return out

    def _predict(self, images: list[tuple[np.ndarray, str | None]], conf: float | None) -> list[list[Detection]]:
        decoded = [bgr for bgr, _ in images]
        if self.detector is None:
            return [self._classify_whole(bgr) for bgr in decoded]
        det_cfg = self.config["detector"]
        if conf is not None and not 0 <= conf <= 1:
            raise BadInput(f"conf must be in [0, 1], got {conf}", None, "conf")
        raw = list(self.detector.predict_arrays(decoded, conf=conf))
        post = det_cfg.get("post_nms")
        if post:
            raw = [_post_nms(d, post) for d in raw]
        out = []
        for bgr, d in zip(decoded, raw, strict=True):
            if self.classifier is None:
                names = det_cfg["classes"]
                out.append([Detection([float(v) for v in b], float(s), int(c), names[int(c)], float(s), None)
                            for b, s, c in zip(d.boxes, d.scores, d.classes, strict=True)])
            else:
                out.append(self._relabel(bgr, d))
        return out

    def _relabel(self, bgr: np.ndarray, d) -> list[Detection]:
        cfg = self.config["classifier"]
        if not len(d):
            return []
        rgb = bgr[..., ::-1]
        crops = [crop_box(rgb, b, float(cfg.get("crop_margin", 0.0))) for b in d.boxes]
        probs = self.classifier.probabilities(crops, batch=int(cfg.get("batch", 32)))
        names = self.classifier.classes
        background = cfg.get("background")
        out = []
        for b, s, p in zip(d.boxes, d.scores, probs, strict=True):
            k = int(np.argmax(p))
            name = names[k]
            if name == background and not cfg.get("keep_background", False):
                continue
            out.append(Detection([float(v) for v in b], float(s) * float(p[k]), self.classes.index(name), name,
                                 float(s), float(p[k])))
        out.sort(key=lambda x: -x.score)
        return out

    def _classify_whole(self, bgr: np.ndarray) -> list[Detection]:
        h, w = bgr.shape[:2]
        p = self.classifier.probabilities([bgr[..., ::-1]])[0]
        k = int(np.argmax(p))
        return [Detection([0.0, 0.0, float(w), float(h)], float(p[k]), k, self.classifier.classes[k], None, float(p[k]))]

    def predict_frame(self, images: Sequence[Any], labels: Sequence[str] | None = None, conf: float | None = None,
                      paths: str | Path | None = ANY):
        """One pandas DataFrame row per detection: image_index, image, x1, y1, x2, y2, score, class_id, class_name.

        `image` is the label given, else the path the image was read from, else its position (#0, #1 ...).
        """
        import pandas as pd

        decoded = self._decode(list(images), paths)
        labels = list(labels) if labels is not None else [path or f"#{i}" for i, (_, path) in enumerate(decoded)]
        rows = []
        for i, dets in enumerate(self._predict(decoded, conf)):
            for d in dets:
                rows.append([i, str(labels[i]), *d.box, d.score, d.class_id, d.class_name])
        frame = pd.DataFrame(rows, columns=COLUMNS)
        return frame.astype({"image_index": "int64", "class_id": "int64", "x1": "float64", "y1": "float64",
                             "x2": "float64", "y2": "float64", "score": "float64"})


def part_files(part: dict[str, Any]) -> list[str]:
    """The files of a detector or classifier part of model.json (`file` alone in models registered before `files`)."""
    return list(part.get("files") or [part["file"]])


def _post_nms(d, post: dict[str, Any]):
    """The calibrated NMS on an image's merged boxes (class-aware or not)."""
    from wt_core.geometry import nms

    if not len(d):
        return d
    keep = nms(d.boxes, d.scores, iou=float(post["iou"]), classes=d.classes if post.get("class_aware", True) else None)
    return type(d)(d.boxes[keep], d.scores[keep], d.classes[keep])
