"""`wt-mmdet fit`: train an MMDetection detector on a dataset manifest with mmengine's Runner.

The harness (`wt_core.training`) owns the output, resume state, metrics.jsonl,
MLflow run and run manifest; this module reads the dataset and the model
config (refusing bad input before any work), prepares MMDetection (ops
backend), builds the Config and runs `Runner.train()` with its work directory
in `DIR.partial/mmdet`. Its hook (`wt_mmdet.hooks`) hands each epoch to the
harness and records each checkpoint's sha256 in a ledger; `--resume`
continues from the ledger's newest checkpoint: optimizer, schedule, epoch and
best score. Best weights: on a tiled dataset, the epoch with the best mAP50 on
the whole val images (`wt_mmdet.select`, kept by the hook); otherwise, or with
`--select.metric fitness`, mmengine's `save_best` on the tiles' `bbox_mAP`.
Under torchrun or srun every rank runs this function as one rank of the Runner
(`wt_mmdet.distributed`); only rank 0 records and returns the manifest.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from wt_core import console
from wt_core.devices import one_device
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import RunManifest
from wt_core.readers import read_detect_dataset
from wt_core.selection import DetectSelectArgs, selection_record
from wt_core.train_args import TrainArgs
from wt_core.training import ANY, MORE, Select, TrainerSpec, Training

from wt_mmdet import checkpoints, distributed
from wt_mmdet.config import (
    TRAIN,
    MmdetArgs,
    MmdetTrainArgs,
    check_cfg_options,
    fit_config,
    load_config,
    resolve_model,
)
from wt_mmdet.data import check_splits, split_source
from wt_mmdet.select import whole_image_validation
from wt_mmdet.small_data import (
    Defaults,
    apply_small_data_policy,
    batches_per_epoch,
    decide_norm_momentum,
)

log = console.get_logger("wt-mmdet")
WORK_DIR = "mmdet"  # mmengine's work_dir inside the partial output
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
            raise BadInput("mixed precision (AMP) needs a GPU; none is available", None, "mmdet.amp")


def finish_weights(work_dir: Path, out_dir: Path, epochs: int) -> dict[str, str]:
    """weights/last.pth (the final epoch) and weights/best.pth (the best validated, else the last)."""
    last = work_dir / f"epoch_{epochs}.pth"
    if not last.exists():
        raise RuntimeError(f"mmengine finished without writing {last}")
    best = sorted(work_dir.glob("best_*.pth"), key=lambda p: p.stat().st_mtime)
    (out_dir / "weights").mkdir(exist_ok=True)
    weights = out_dir / "weights/last.pth"
    os.replace(last, weights)
    if best:
        os.replace(best[-1], out_dir / "weights/best.pth")
    else:
        os.link(weights, out_dir / "weights/best.pth")
    for p in work_dir.glob("*.pth"):  # older epochs: only resume needed them
        p.unlink()
    (work_dir / checkpoints.LEDGER).unlink(missing_ok=True)
    return {"best": "weights/best.pth", "last": "weights/last.pth"}


SPEC = TrainerSpec(tool="wt-mmdet", framework="mmdet", task="detect", select=Select("bbox_mAP", "max"),
                   standard={"mAP50": "bbox_mAP_50", "mAP50_95": "bbox_mAP"},
                   may_change={"train.epochs": MORE, "device": ANY, "train.workers": ANY, "train.patience": ANY,
                               "mmdet.launcher": ANY})


@command("wt-mmdet", "fit")
def fit(dataset: str, model: str = "retinanet_r18_fpn", train: TrainArgs = TRAIN, mmdet: MmdetArgs = MmdetArgs(),
        cfg_options: dict[str, Any] | None = None, load_from: Path | None = None, device: str = "auto",
        out: Path | None = None, overwrite: bool = False, resume: bool = False, experiment: str = "wt-mmdet",
        run_name: str | None = None, defaults: Defaults = "wildtrain",
        select: DetectSelectArgs = DetectSelectArgs()) -> RunManifest | None:
    """Train an MMDetection detector on a detection dataset manifest.

    One MLflow run records the config as params, the metrics of every epoch (also in metrics.jsonl),
    best weights, the configs and the run manifest. Classes and num_classes come from the dataset.

    Args:
        dataset: The detection dataset manifest (file, directory, or '-' to read its path from stdin).
        model: A preset (retinanet_r18_fpn, fcos_r18_fpn, faster_rcnn_r18_fpn, rtmdet_tiny) or the path of
            any MMDetection config file (.py, .yaml, .json).
        train: What every trainer has (epochs, batch, workers, imgsz, lr, seed, patience, freeze: the backbone's
            frozen stages, the splits; without a val or test split nothing is validated).
        mmdet: MMDetection's own training options (optimizer, schedule, warmup, AMP ...).
        cfg_options: MMDetection config overrides as dotted keys, e.g. '{"model.bbox_head.loss_cls.gamma": 1.5}',
            merged last (mmdet's --cfg-options); keys the --train.* options set are refused.
        load_from: Initial weights (a plain state_dict, or a checkpoint of a wt-mmdet run); nothing is downloaded.
        device: cpu, auto (a GPU when there is one) or one GPU index such as 0. Under torchrun (several
            processes or nodes, --mmdet.launcher): auto, each rank on its LOCAL_RANK's GPU, or cpu.
        out: The output directory (default runs/mmdet/fit/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue an interrupted run (same --out) from its newest checkpoint; only more epochs, the device,
            workers and patience may change.
        experiment: The MLflow experiment name.
        run_name: The MLflow run name (default: the output directory's name).
        defaults: 'wildtrain': the warm-up kept to 10 % of a short run's iterations and the BatchNorm momentum
            raised on a split of few batches an epoch (printed, and recorded in details.small_data); 'mmdet':
            MMDetection's 100 iterations and the model config's momentum. A value set explicitly wins.
        select: The metric best.pth is chosen by (default: mAP50 on the whole val images when the dataset was
            made by `wt-data tile`; 'fitness': mmdet's bbox_mAP on the tiles), and how often whole images are
            validated.
    """
    one_device(device, "wt-mmdet fit trains on one device per process; for several GPUs start one process per GPU "
               "with torchrun and --device auto (see wt-mmdet's README)")
    with Training(SPEC, device) as t:  # the MLflow helper imports mlflow in its own process while MMDetection is imported
        ds = read_detect_dataset(dataset)
        tr, va = t.pick_splits(ds, train.split, train.val_split)
        check_splits(ds, tr, va)
        cfg_path, is_preset = resolve_model(model)  # every input checked before the first policy line
        if load_from is not None:
            checkpoints.check_loadable(load_from, "load_from")
        requested = MmdetTrainArgs.of(train, mmdet)
        check_amp(requested.amp)
        launcher = distributed.resolve(mmdet.launcher, t.rank)
        metric, whole = whole_image_validation(ds, va, select, requested.imgsz)
        cfg = load_config(cfg_path)
        check_cfg_options(cfg, cfg_options)
        args, small_data = apply_small_data_policy(requested, ds.splits[tr].images, defaults)
        if metric is not None:
            t.choose(metric, select.mode)
        t.patience = args.patience
        from wt_mmdet.compat import prepare

        backend = prepare()
        t.open(ds, ds.classes, out=out, overwrite=overwrite, resume=resume, experiment=experiment, run_name=run_name)
        work_dir = t.dir / WORK_DIR
        cfg = fit_config(cfg, is_preset=is_preset, classes=list(ds.classes), train=split_source(ds, tr),
                         val=split_source(ds, va) if va else None, t=args, work_dir=work_dir, cfg_options=cfg_options)
        distributed.configure(cfg, launcher)
        if metric is not None:  # the harness selects; the hook keeps that epoch's checkpoint
            cfg.default_hooks.checkpoint.save_best = None
        from mmengine.runner import Runner

        from wt_mmdet.hooks import NormMomentumHook, WildTrainHook

        with distributed.process_group(launcher), checkpoints.safe_loading():  # the other ranks join once rank 0 has its output
            resume_from = distributed.from_rank0(latest_checkpoint(work_dir) if t.resumed else None)
            if resume_from is not None and t.rank > 0:
                checkpoints.trust_ledger(work_dir)  # rank 0's ledger (read only) vouches for the file here too
            if resume_from is not None:
                log.info("resuming from %s (after epoch %d)", resume_from[0].name, resume_from[1])
                cfg.load_from, cfg.resume = str(resume_from[0]), True
            else:
                if t.resumed:
                    t.log_restart()
                cfg.load_from = str(load_from) if load_from is not None else None
            log.info("mmcv ops backend: %s", backend)
            runner = Runner.from_cfg(cfg)
            momentum = decide_norm_momentum(small_data, args, runner.model, batches_per_epoch(
                ds.splits[tr].images, args.batch, runner.world_size))
            runner.register_hook(NormMomentumHook(momentum))
            runner.register_hook(WildTrainHook(t, work_dir, keep_best=metric is not None))
            if whole is not None:
                whole.runner = runner
                t.add_epoch_hook(whole)
            runner.train()
        if t.rank > 0:  # rank 0 keeps the weights and writes the manifest
            return None
        weights = finish_weights(work_dir, t.dir, runner.epoch)
        cfg.dump(str(t.dir / "mmdet_config.py"))
        return t.finish(weights, imgsz=args.imgsz, artifacts={"mmdet_config": "mmdet_config.py"},
                        details={"model": model, "small_data": small_data.record(),
                                 "selection": selection_record(whole),
                                 "preset": is_preset, "model_type": cfg.model.get("type"),
                                 "ops_backend": backend, "train_split": tr, "val_split": va,
                                 "launcher": launcher, "world_size": runner.world_size,
                                 "mmdet_version": _mmdet_version(),
                                 "category_ids": "view 1-based (class i = id i+1); labels = class ids"})


def _mmdet_version() -> str:
    import mmdet

    return mmdet.__version__
