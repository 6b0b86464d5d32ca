"""`wt-yolo export`: a run's best weights as ONNX or TorchScript, checked against the .pt.

The exported file carries Ultralytics' metadata (class names, imgsz, stride).
The check runs the .pt and the export (ONNX through onnxruntime) on the same
inputs and compares the raw network outputs and, when images are given, the
boxes after NMS; the differences are recorded in the manifest and a
difference above the tolerance fails the command.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

import numpy as np
from wt_core import console
from wt_core.invocation import command
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.ranges import UnitInterval
from wt_core.readers import read_detect_dataset, read_run, run_weights
from wt_core.slicing import Slicing

from wt_yolo.data import folder_images, split_images
from wt_yolo.slicing import Detections, SlicedPredictor

log = console.get_logger("wt-yolo")


def raw_output_difference(pt: Path, exported: Path, fmt: str, imgsz: int, seed: int = 0) -> float:
    """Largest absolute difference of the raw outputs of the .pt and the export on one input."""
    import torch
    from ultralytics import YOLO

    x = torch.from_numpy(np.random.default_rng(seed).random((1, 3, imgsz, imgsz), dtype=np.float32))
    net = YOLO(str(pt)).model.float().eval()
    with torch.no_grad():
        ref = net(x)
    ref = (ref[0] if isinstance(ref, (list, tuple)) else ref).numpy()
    if fmt == "onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
        got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    else:
        ts = torch.jit.load(str(exported), map_location="cpu")
        with torch.no_grad():
            got = ts(x)
        got = (got[0] if isinstance(got, (list, tuple)) else got).numpy()
    return float(np.abs(ref - got).max())


def box_difference(a: Detections, b: Detections) -> float:
    """Largest coordinate difference between matched boxes (inf when the counts differ)."""
    if len(a) != len(b):
        return float("inf")
    if not len(a):
        return 0.0
    ia, ib = np.lexsort(a.boxes.T[::-1]), np.lexsort(b.boxes.T[::-1])
    if not np.array_equal(a.classes[ia], b.classes[ib]):
        return float("inf")
    return float(np.abs(a.boxes[ia] - b.boxes[ib]).max())


@command("wt-yolo", "export")
def export(run: str, format: Literal["onnx", "torchscript"] = "onnx", imgsz: int | None = None,
           dataset: str | None = None, split: str = "val", images: Path | None = None, check_images: int = 4,
           conf: UnitInterval = 0.25, tolerance: float = 1.0, opset: int | None = None, simplify: bool = True,
           out: Path | None = None, overwrite: bool = False) -> RunManifest:
    """Export a run's best weights to ONNX or TorchScript and check it predicts like the .pt.

    Args:
        run: The run manifest (file, directory or '-').
        format: onnx or torchscript.
        imgsz: The fixed input size of the export (default: the run's training size).
        dataset: A dataset manifest whose images the check predicts (or --images, or neither: raw outputs only).
        split: The split of --dataset.
        images: A folder of images for the check.
        check_images: How many images the check predicts.
        conf: Minimum score of a box in the check.
        tolerance: Largest allowed box difference in pixels between the .pt and the export.
        opset: ONNX opset (default: Ultralytics picks).
        simplify: Simplify the ONNX graph (onnxslim).
        out: The output directory (default runs/yolo/export/<id>).
        overwrite: Replace an existing output directory.
    """
    r = read_run(run, "yolo")
    size = imgsz or r.imgsz or 640
    samples = []
    if dataset is not None:
        samples = split_images(read_detect_dataset(dataset), split)[:check_images]
    elif images is not None:
        samples = folder_images(images)[:check_images]
    output = Output("wt-yolo", "export", out, overwrite=overwrite)
    source = output.path("model.pt")
    shutil.copyfile(run_weights(r), source)
    from ultralytics import YOLO

    kwargs = {"opset": opset} if opset else {}
    if format == "onnx":
        kwargs["simplify"] = simplify
    exported = Path(YOLO(str(source)).export(format=format, imgsz=size, device="cpu", **kwargs))
    raw = raw_output_difference(source, exported, format, size)
    log.info("raw outputs: largest difference %.3g", raw)
    boxes = 0.0
    if samples:
        slicing = Slicing(tile=0, batch=1)
        ref = SlicedPredictor(source, imgsz=size, conf=conf, slicing=slicing, device="cpu")
        got = SlicedPredictor(exported, imgsz=size, conf=conf, slicing=slicing, device="cpu")
        paths = [im.path for im in samples]
        boxes = max(box_difference(a, b) for a, b in zip(ref.predict_files(paths), got.predict_files(paths),
                                                           strict=True))
        log.info("boxes on %d images: largest difference %.3g px", len(samples), boxes)
    if boxes > tolerance:
        raise RuntimeError(f"the {format} export predicts boxes up to {boxes:.3g} px away from the .pt's "
                           f"(tolerance {tolerance}); see {output.dir}")
    output.add("export", exported.name)
    output.add("source", source.name)
    m = build(RunManifest, id=output.id, parents=[r], framework="yolo", task="detect", classes=list(r.classes),
              dataset_id=r.dataset_id, weights={"best": "export", "pt": "source"}, imgsz=size, metrics=dict(r.metrics),
              details={"export": {"format": format, "imgsz": size, "raw_max_abs_diff": raw,
                                  "box_max_diff_px": boxes, "checked_images": len(samples)}})
    return output.commit(m)
