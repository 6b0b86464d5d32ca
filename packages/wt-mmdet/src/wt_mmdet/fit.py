"""`wt-mmdet fit`: train an MMDetection detector on a dataset manifest with mmengine's Runner.

The recipe, in order: read the dataset and the model config (refusing bad
input before any work), prepare MMDetection (ops backend), open the output
(`DIR.partial`), build the COCO view, start or resume the one MLflow run,
build the Config and run `Runner.train()` with its work directory in
`DIR.partial/mmdet` (our hook appends `metrics.jsonl`, logs each epoch to
MLflow and records each checkpoint's sha256 in a ledger), then keep best and
last weights and write the run manifest last. `--resume` continues from the
newest checkpoint of the ledger: optimizer, schedule, epoch and best score.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from wt_core import console, offline
from wt_core.errors import BadInput
from wt_core.invocation import command, current
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.metrics_log import MetricsLog
from wt_core.mlflow_process import MlflowProcess, mlflow_helper
from wt_core.outputs import Output

from wt_mmdet import checkpoints
from wt_mmdet.config import TrainArgs, check_cfg_options, fit_config, load_config, resolve_model
from wt_mmdet.data import pick_splits, read_detect_dataset, split_source
from wt_mmdet.small_data import Defaults, apply_small_data_policy

log = console.get_logger("wt-mmdet")
WORK_DIR = "mmdet"  # mmengine's work_dir inside the partial output
STATE = "wt-mmdet-state.json"  # what --resume needs besides the checkpoints: the MLflow run id
EPOCH_CKPT = re.compile(r"^epoch_(\d+)\.pth$")


def latest_checkpoint(work_dir: Path) -> tuple[Path, int] | None:
    """The newest epoch checkpoint whose sha256 the ledger vouches for (trusted from now on)."""
    good = checkpoints.trust_ledger(work_dir)
    epochs = [(int(m.group(1)), name) for name in good if (m := EPOCH_CKPT.match(name))]
    if not epochs:
        return None
    epoch, name = max(epochs)
    return work_dir / name, epoch


def check_amp(amp: bool) -> None:
    if amp:
        import torch

        if not torch.cuda.is_available():
            raise BadInput("mixed precision (AMP) needs a GPU; none is available", None, "train.amp")


def finish_weights(work_dir: Path, output: Output, epochs: int) -> dict[str, str]:
    """weights/last.pth (the final epoch) and weights/best.pth (the best validated, else the last)."""
    last = work_dir / f"epoch_{epochs}.pth"
    if not last.exists():
        raise RuntimeError(f"mmengine finished without writing {last}")
    best = sorted(work_dir.glob("best_*.pth"), key=lambda p: p.stat().st_mtime)
    weights = output.path("weights/last.pth")
    os.replace(last, weights)
    if best:
        os.replace(best[-1], output.path("weights/best.pth"))
    else:
        os.link(weights, output.path("weights/best.pth"))
    for p in work_dir.glob("*.pth"):  # older epochs: only resume needed them
        p.unlink()
    (work_dir / checkpoints.LEDGER).unlink(missing_ok=True)
    output.add("best", "weights/best.pth")
    output.add("last", "weights/last.pth")
    return {"best": "best", "last": "last"}


@command("wt-mmdet", "fit")
def fit(data: str, model: str = "retinanet_r18_fpn", train: TrainArgs = TrainArgs(),
        cfg_options: dict[str, Any] | None = None, load_from: Path | None = None, train_split: str | None = None,
        val_split: str | None = None, out: Path | None = None, overwrite: bool = False, resume: bool = False,
        experiment: str = "wt-mmdet", run_name: str | None = None, defaults: Defaults = "wildtrain") -> RunManifest:
    """Train an MMDetection detector on a detection dataset manifest.

    One MLflow run records the config as params, the metrics of every epoch (also in metrics.jsonl),
    best weights, the configs and the run manifest. Classes and num_classes come from the dataset.

    Args:
        data: The detection dataset manifest (file, directory, or '-' to read its path from stdin).
        model: A preset (retinanet_r18_fpn, fcos_r18_fpn, faster_rcnn_r18_fpn, rtmdet_tiny) or the path of
            any MMDetection config file (.py, .yaml, .json).
        train: Training options (epochs, batch, optimizer, schedule ...).
        cfg_options: MMDetection config overrides as dotted keys, e.g. '{"model.bbox_head.loss_cls.gamma": 1.5}',
            merged last (mmdet's --cfg-options).
        load_from: Initial weights (a plain state_dict, or a checkpoint of a wt-mmdet run); nothing is downloaded.
        train_split: The split to train on (default 'train', or the only split).
        val_split: The split to validate on (default 'val', else 'test', else no validation).
        out: The output directory (default runs/mmdet/fit/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue an interrupted run (same --out) from its newest checkpoint.
        experiment: The MLflow experiment name.
        run_name: The MLflow run name (default: the output directory's name).
        defaults: 'wildtrain': the warm-up kept to 10 % of a short run's iterations (printed, and recorded in
            details.small_data); 'mmdet': MMDetection's 100 iterations. A value set explicitly wins.
    """
    offline.apply()
    if isinstance(train, dict):  # called from Python with a plain dict
        train = TrainArgs(**train)
    with mlflow_helper() as run:  # imports mlflow in its own process while MMDetection is imported
        return _fit(data, model, train, load_from, cfg_options, train_split, val_split, out, overwrite, resume,
                    experiment, run_name, run, defaults)


def _fit(data, model, train, load_from, cfg_options, train_split, val_split, out, overwrite, resume, experiment,
         run_name, run: MlflowProcess, defaults: Defaults = "wildtrain") -> RunManifest:
    ds = read_detect_dataset(data)
    tr, va = pick_splits(ds, train_split, val_split)
    train, small_data = apply_small_data_policy(train, ds.splits[tr].images, defaults)  # wt_mmdet.small_data
    cfg_path, is_preset = resolve_model(model)
    if load_from is not None:
        checkpoints.check_loadable(load_from)
    check_amp(train.amp)
    cfg = load_config(cfg_path)
    check_cfg_options(cfg, cfg_options)
    from wt_mmdet.compat import prepare

    backend = prepare()
    output = Output("wt-mmdet", "fit", out, overwrite=overwrite, resume=resume)
    work_dir = output.dir / WORK_DIR
    cfg = fit_config(cfg, is_preset=is_preset, classes=list(ds.classes), train=split_source(ds, tr),
                     val=split_source(ds, va) if va else None, t=train, work_dir=work_dir, cfg_options=cfg_options)
    state_file = output.dir / STATE
    state = json.loads(state_file.read_text()) if output.resumed and state_file.exists() else {}
    metrics_log = MetricsLog(output.dir)
    resume_from = latest_checkpoint(work_dir) if output.resumed else None
    if resume_from is not None:
        log.info("resuming from %s (after epoch %d)", resume_from[0].name, resume_from[1])
        metrics_log.truncate_after(resume_from[1])
        cfg.load_from, cfg.resume = str(resume_from[0]), True
    else:
        if output.resumed:
            log.info("no checkpoint yet in %s: starting the training over", work_dir)
        metrics_log.path.unlink(missing_ok=True)
        cfg.load_from = str(load_from) if load_from is not None else None
    config = current().config
    log.info("mmcv ops backend: %s", backend)

    run.start(experiment, run_name or output.final.name, params=config,
              tags={"wt.dataset_id": ds.id, "wt.command": "wt-mmdet fit", "wt.output": str(output.final)},
              run_id=state.get("mlflow_run_id"))
    from mmengine.runner import Runner

    from wt_mmdet.hooks import WildTrainHook

    if resume_from is not None:
        run.log_missing_epochs(metrics_log.read())
    hook = WildTrainHook(output.dir, work_dir, run)
    with checkpoints.safe_loading():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(hook)
        state_file.write_text(json.dumps({"mlflow_run_id": run.tracking.run_id}))
        runner.train()
    weights = finish_weights(work_dir, output, train.epochs)
    metrics_log.path.touch()
    output.add("metrics", metrics_log.path.name)
    cfg.dump(str(output.path("mmdet_config.py")))
    output.add("mmdet_config", "mmdet_config.py")
    import yaml

    output.path("config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    output.add("config", "config.yaml")
    final = metrics_log.read()[-1] if metrics_log.read() else {}
    final = {k: float(v) for k, v in final.items() if k != "epoch" and v is not None}
    run.log_metrics({f"final/{k}": v for k, v in final.items()})
    state_file.unlink(missing_ok=True)
    manifest = build(RunManifest, id=output.id, parents=[ds], framework="mmdet", task="detect",
                     classes=list(ds.classes), dataset_id=ds.id, weights=weights, imgsz=train.imgsz,
                     metrics=final, tracking=run.tracking,
                     details={"model": model, "small_data": small_data.record(), "preset": is_preset,
                              "model_type": cfg.model.get("type"),
                              "ops_backend": backend, "train_split": tr, "val_split": va,
                              "epochs": train.epochs, "mmdet_version": _mmdet_version(),
                              "category_ids": "view 1-based (class i = id i+1); labels = class ids"})
    manifest = output.commit(manifest)
    for name in ("best", "config", "mmdet_config"):
        run.log_artifact(manifest.artifact_path(name))
    run.log_artifact(manifest.path)
    return manifest


def _mmdet_version() -> str:
    import mmdet

    return mmdet.__version__
