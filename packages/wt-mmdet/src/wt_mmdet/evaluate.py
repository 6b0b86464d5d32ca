"""`wt-mmdet test`: MMDetection's own test loop and CocoMetric on a dataset split.

Writes a predictions manifest holding every box CocoMetric scored (class ids
mapped back to 0-based) and its metrics, so `wt-eval detect` can recompute the
same numbers with the code it shares across frameworks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from wt_core import console
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import PredictionsManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output
from wt_core.ranges import UnitInterval

from wt_mmdet.infer import run_checkpoint, trusted_run

log = console.get_logger("wt-mmdet")


@command("wt-mmdet", "test")
def test(run: str, dataset: str, split: str = "val", weights: Literal["best", "last"] = "best",
         checkpoint: Path | None = None, imgsz: int | None = None, conf: UnitInterval | None = None,
         out: Path | None = None, overwrite: bool = False) -> PredictionsManifest:
    """Evaluate a wt-mmdet run on a dataset split with MMDetection's test loop and CocoMetric.

    Args:
        run: The run manifest of wt-mmdet fit (file, directory or '-').
        dataset: The detection dataset manifest to test on.
        split: The split to test.
        weights: Which weights of the run.
        checkpoint: Other weights for the run's model (a plain state_dict, or a wt-mmdet run's checkpoint).
        imgsz: The network input size (default: the run's training size).
        conf: Minimum score of a box (the model's score_thr; default: the model config's, e.g. 0.05 for RetinaNet).
        out: The output directory (default runs/mmdet/test/<id>).
        overwrite: Replace an existing output directory.
    """
    from wt_core.readers import read_detect_dataset

    from wt_mmdet.data import split_source

    r = trusted_run(run)
    ds = read_detect_dataset(dataset)
    if split not in ds.splits:
        raise BadInput(f"no split {split!r} (splits: {', '.join(ds.splits)})", ds.path, "splits")
    if list(ds.classes) != list(r.classes):
        raise BadInput(f"the dataset's classes {ds.classes} differ from the run's {r.classes}", ds.path, "classes")
    ckpt = run_checkpoint(r, weights, checkpoint)
    from wt_mmdet.compat import prepare
    from wt_mmdet.config import eval_config, load_config

    cfg = load_config(r.artifact_path("mmdet_config"), "mmdet_config")
    prepare()
    if conf is not None:
        tc = cfg.model.test_cfg
        (tc.rcnn if "rcnn" in tc else tc).score_thr = conf
    output = Output("wt-mmdet", "test", out, overwrite=overwrite)
    ann_file, root = split_source(ds, split)
    prefix = output.dir / "mmdet" / "results"
    cfg = eval_config(cfg, classes=list(r.classes), split=(ann_file, root), imgsz=imgsz or r.imgsz or 640,
                      work_dir=output.dir / "mmdet", outfile_prefix=prefix)
    cfg.load_from = str(ckpt)
    from mmengine.runner import Runner

    from wt_mmdet import checkpoints

    with checkpoints.safe_loading():
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
    view_ids = [c["id"] for c in json.loads(ann_file.read_text())["categories"]]
    to_class = {cid: i for i, cid in enumerate(view_ids)}
    dumped = Path(f"{prefix}.bbox.json")
    results = json.loads(dumped.read_text()) if dumped.exists() else []
    for d in results:
        d["category_id"] = to_class[d["category_id"]]
    rel = f"predictions/{split}.json"
    output.path(rel).write_text(json.dumps(results))
    output.add(f"predictions.{split}", rel)
    dumped.unlink(missing_ok=True)
    clean = {k.removeprefix("coco/"): float(v) for k, v in (metrics or {}).items() if isinstance(v, (int, float))}
    log.info("%s: %d boxes; %s", split, len(results), ", ".join(f"{k}={v:.4f}" for k, v in clean.items()) or
             "no metrics (no box above the score threshold)")
    tc = cfg.model.test_cfg
    thr = (tc.rcnn if "rcnn" in tc else tc).get("score_thr", 0.0)
    m = build(PredictionsManifest, id=output.id, parents=[r, ds], task="detect", classes=list(r.classes),
              dataset_id=ds.id, run_id=r.id, splits={split: f"predictions.{split}"},
              thresholds={"conf": float(thr)}, slicing=None,
              details={"metrics": clean, "evaluator": "mmdet CocoMetric (pycocotools)",
                       "weights": weights if checkpoint is None else str(Path(checkpoint).resolve())})
    return output.commit(m)
