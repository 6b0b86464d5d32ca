"""`wt-yolo val`: Ultralytics' own metrics on a split as a quick check, plus predictions for wt-eval."""

from __future__ import annotations

from pathlib import Path

from wt_core import console
from wt_core.devices import check_device
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import PredictionsManifest
from wt_core.outputs import Output
from wt_core.predictions import commit_predictions, write_predictions
from wt_core.ranges import PositiveUnit, UnitInterval
from wt_core.readers import read_detect_dataset, read_run, run_weights
from wt_core.slicing import Slicing

from wt_yolo.data import split_images
from wt_yolo.fit import finite
from wt_yolo.slicing import SlicedPredictor

log = console.get_logger("wt-yolo")


def ultralytics_split(data_yaml: Path, split: str) -> str:
    """The data.yaml key (train, val, test) that points at our split's images."""
    import yaml

    data = yaml.safe_load(data_yaml.read_text())
    for key in ("val", "test", "train"):
        if data.get(key) == f"images/{split}":
            return key
    raise BadInput(f"Ultralytics' view of this dataset has no key for split {split!r} "
                   f"(it validates on train, val and test only)", data_yaml, split)


@command("wt-yolo", "val")
def val(run: str, dataset: str, split: str = "val", conf: UnitInterval = 0.001, iou: PositiveUnit = 0.7, max_det: int = 300,
        imgsz: int | None = None, batch: int = 16, device: str | None = None,
        slicing: Slicing = Slicing(tile=0), out: Path | None = None,
        overwrite: bool = False) -> PredictionsManifest:
    """Validate a run on a dataset split: Ultralytics' metrics, and a predictions manifest for wt-eval.

    Ultralytics' mAP is a quick check (it differs slightly from COCO's); wt-eval computes the shared
    metrics from the predictions this command writes.

    Args:
        run: The run manifest (file, directory or '-').
        dataset: The detection dataset manifest.
        split: The split to validate on.
        conf: Minimum score of a box (low, as mAP needs).
        iou: IoU threshold of the NMS.
        max_det: Maximum boxes per image.
        imgsz: The network input size (default: the run's training size).
        batch: Images per batch in Ultralytics' validation.
        device: 'cpu', '0', ... (default: Ultralytics picks).
        slicing: Slicing of the predictions (off by default: the split's images are predicted whole).
        out: The output directory (default runs/yolo/val/<id>).
        overwrite: Replace an existing output directory.
    """
    check_device(device, "device")
    r = read_run(run, "yolo")
    ds = read_detect_dataset(dataset)
    images = split_images(ds, split)
    weights = run_weights(r)
    size = imgsz or r.imgsz or 640
    output = Output("wt-yolo", "val", out, overwrite=overwrite)
    from ultralytics import YOLO

    kwargs = {"device": device} if device else {}
    from wt_data.views import yolo_view

    data_yaml = Path(yolo_view(ds))
    metrics = YOLO(str(weights), task="detect").val(
        data=str(data_yaml), split=ultralytics_split(data_yaml, split), imgsz=size, batch=batch, conf=conf, iou=iou, max_det=max_det,
        plots=False, project=str(output.dir), name="ultralytics", exist_ok=True, verbose=False, **kwargs)
    quick = finite(metrics.results_dict)
    console.print_table(f"Ultralytics metrics on {split} (a quick check; wt-eval computes the shared ones)",
                        ["metric", "value"], [[k, v] for k, v in quick.items()])
    predictor = SlicedPredictor(weights, imgsz=size, conf=conf, iou=iou, max_det=max_det, slicing=slicing,
                                device=device)
    name = write_predictions(output, split, images, predictor.predict_files(im.path for im in images), log)
    return commit_predictions(output, r, ds, {split: name}, predictor.record(), {"ultralytics_metrics": quick})
