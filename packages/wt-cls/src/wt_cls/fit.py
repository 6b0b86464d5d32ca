"""`wt-cls fit`: train a classifier on a classification dataset, one MLflow run, a run manifest.

The recipe, in order: check the dataset (before any slow import), open the
output (`DIR.partial`, resumable), build the datamodule and the module, run a
plain `lightning.Trainer`, record each epoch (metrics.jsonl and MLflow), then
commit the run manifest with the best and last checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from wt_core import invocation
from wt_core.console import get_logger, stderr_is_terminal
from wt_core.devices import check_accelerator
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.metrics_log import METRICS_FILE, MetricsLog, read_metrics
from wt_core.outputs import Output

from wt_cls import __version__
from wt_cls.config import (
    CheckpointConfig,
    DataConfig,
    LossConfig,
    ModelConfig,
    OptimizerConfig,
    SchedulerConfig,
    TrainerConfig,
)
from wt_cls.dataset import check_images, holdout, read_classification, reraise_unreadable

log = get_logger("wt-cls")
CKPT_DIR = "checkpoints"
TRACKING_FILE = "tracking.json"


def _rank() -> int:
    """This process's global rank under DDP (0 when not distributed)."""
    for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return 0


def mlflow_name(key: str) -> str:
    """A metric name MLflow accepts (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^\w\-./ ]", "_", key)


def _epoch_recorder(out_dir: Path, tracking: bool):
    """A callback: one metrics.jsonl line and one MLflow step per finished epoch (rank 0).

    Its rows also travel in each checkpoint (callback state), so a run resumed
    from last.ckpt rewrites metrics.jsonl to exactly the epochs that checkpoint
    holds, wherever a SIGKILL landed.
    """
    import lightning as L

    class EpochRecorder(L.Callback):
        def __init__(self) -> None:
            self.metrics_log = MetricsLog(out_dir)
            self.rows: list[tuple[int, dict[str, float]]] = []
            self.started = time.perf_counter()

        def state_dict(self) -> dict:
            return {"rows": self.rows}

        def load_state_dict(self, state_dict: dict) -> None:
            self.rows = [(int(e), dict(m)) for e, m in state_dict.get("rows", [])]

        def on_train_start(self, trainer, pl_module) -> None:
            if not trainer.is_global_zero:
                return
            self.metrics_log.path.unlink(missing_ok=True)  # a resumed run: the epochs its checkpoint holds
            for epoch, metrics in self.rows:
                self.metrics_log.write(epoch, metrics)
            if tracking and self.rows:
                self.backfill()

        def backfill(self) -> None:
            """Log to MLflow the restored epochs it lacks (a SIGKILL can land between the two writes)."""
            import mlflow

            run = mlflow.active_run()
            if run is None:
                return
            key = mlflow_name(next(iter(self.rows[-1][1])))
            have = {m.step for m in mlflow.MlflowClient().get_metric_history(run.info.run_id, key)}
            for epoch, metrics in self.rows:
                if epoch not in have:
                    mlflow.log_metrics({mlflow_name(k): v for k, v in metrics.items() if math.isfinite(v)}, step=epoch)

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.started = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if not trainer.is_global_zero or trainer.sanity_checking:
                return
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 0)() == 1}
            opt = trainer.optimizers[0] if trainer.optimizers else None
            if opt is not None:
                metrics["lr"] = float(opt.param_groups[0]["lr"])
            metrics["epoch_s"] = time.perf_counter() - self.started  # training and validation of this epoch
            epoch = trainer.current_epoch + 1
            self.rows.append((epoch, metrics))
            self.metrics_log.write(epoch, metrics)
            shown = {k: round(v, 4) for k, v in metrics.items() if "." not in k}
            log.info("epoch %d/%s %s", epoch, trainer.max_epochs, shown)
            if tracking:
                import mlflow

                mlflow.log_metrics({mlflow_name(k): v for k, v in metrics.items() if math.isfinite(v)}, step=epoch)

    return EpochRecorder()


@contextmanager
def guarded(trainer) -> Iterator[None]:
    """Run a Trainer call: an undecodable image becomes one BadInput line; Ctrl-C or SIGTERM (which Lightning
    turns into `sys.exit(1)`) becomes KeyboardInterrupt again, so the tool exits 130 with the output resumable."""
    try:
        with reraise_unreadable():
            yield
    except SystemExit:
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise


def make_trainer(cfg: TrainerConfig, callbacks: list, *, default_root_dir: Path | None = None, **overrides):
    """A plain lightning.Trainer from our trainer section (no logger of its own: we record epochs)."""
    import lightning as L

    progress = cfg.progress_bar and stderr_is_terminal()
    if progress:
        from lightning.pytorch.callbacks import RichProgressBar

        callbacks = [*callbacks, RichProgressBar(console_kwargs={"stderr": True})]
    devices = cfg.devices
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    kwargs = dict(max_epochs=cfg.max_epochs, accelerator=cfg.accelerator, devices=devices, strategy=cfg.strategy,
                  num_nodes=cfg.num_nodes, precision=cfg.precision, accumulate_grad_batches=cfg.accumulate_grad_batches,
                  gradient_clip_val=cfg.gradient_clip_val, deterministic=cfg.deterministic,
                  log_every_n_steps=cfg.log_every_n_steps, logger=False, callbacks=callbacks,
                  enable_progress_bar=progress, enable_model_summary=False, default_root_dir=default_root_dir)
    kwargs.update(overrides)
    try:
        return L.Trainer(**kwargs)
    except (ValueError, TypeError) as e:  # MisconfigurationException is a ValueError
        raise BadInput(" ".join(str(e).split())[:300], None, "trainer") from None


def build_module(classes: list[str], model: ModelConfig, loss: LossConfig, optimizer: OptimizerConfig,
                 scheduler: SchedulerConfig, class_weights: list[float] | None):
    from wt_cls.model import ClassifierModule

    return ClassifierModule(
        classes, backbone=model.backbone, pretrained=model.pretrained or bool(model.weights), weights=model.weights,
        freeze_backbone=model.freeze_backbone, hidden=model.hidden, dropout=model.dropout,
        input_size=model.input_size, mean=model.mean, std=model.std, loss=loss.name, class_weights=class_weights,
        label_smoothing=loss.label_smoothing, gamma=loss.gamma, optimizer=optimizer.name, lr=optimizer.lr,
        weight_decay=optimizer.weight_decay, momentum=optimizer.momentum, scheduler=scheduler.name,
        warmup_epochs=scheduler.warmup_epochs, step_size=scheduler.step_size, step_gamma=scheduler.gamma)


def _best_row(rows: list[dict], monitor: str, mode: str) -> dict:
    scored = [r for r in rows if r.get(monitor) is not None]
    if not scored:
        return rows[-1] if rows else {}
    return (max if mode == "max" else min)(scored, key=lambda r: r[monitor])


@command("wt-cls", "fit", __version__)
def fit(
    dataset: str,
    out: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    seed: int = 0,
    model: ModelConfig = ModelConfig(),  # noqa: B008 - a frozen-by-convention default section
    loss: LossConfig = LossConfig(),  # noqa: B008
    data: DataConfig = DataConfig(),  # noqa: B008
    trainer: TrainerConfig = TrainerConfig(),  # noqa: B008
    optimizer: OptimizerConfig = OptimizerConfig(),  # noqa: B008
    scheduler: SchedulerConfig = SchedulerConfig(),  # noqa: B008
    checkpoint: CheckpointConfig = CheckpointConfig(),  # noqa: B008
    experiment: str = "wt-cls",
    run_name: str | None = None,
) -> RunManifest:
    """Train an image classifier (timm backbone, Lightning) on a classification dataset.

    Writes a run manifest with the best and last checkpoints, metrics.jsonl (one
    line per epoch) and one MLflow run. After a crash, the same command with
    --resume continues from the last checkpoint.

    Args:
        dataset: A classification dataset manifest (file, directory, or - for a path on stdin).
        out: Output directory (default runs/cls/fit/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue the unfinished run in --out from its last checkpoint.
        seed: Seed for weights, augmentation, sampling and hold-out.
        model: The network.
        loss: The loss and class weighting.
        data: Loading, sampling and augmentation.
        trainer: Lightning Trainer settings.
        optimizer: The optimizer.
        scheduler: The learning-rate schedule.
        checkpoint: Best-checkpoint metric and early stopping.
        experiment: MLflow experiment name.
        run_name: MLflow run name (default: the output directory's name).
    """
    if model.weights and not Path(model.weights).expanduser().is_file():
        raise BadInput("weights file not found", model.weights, "model.weights")
    check_accelerator(trainer.accelerator, trainer.devices, "trainer")
    ds = read_classification(dataset)
    train_items = ds.split(data.train_split)
    val_items = ds.splits.get(data.val_split)
    if val_items is None:
        train_items, val_items = holdout(train_items, data.val_fraction, seed)
    check_images(train_items + val_items)
    missing = [c for c, n in zip(ds.classes, _counts(train_items, len(ds.classes)), strict=True) if n == 0]
    if missing:
        raise BadInput(f"no training images for class(es) {', '.join(missing)}", ds.manifest.path,
                       f"splits.{data.train_split}")
    from wt_cls.backbones import check_backbone

    check_backbone(model.backbone)  # before Lightning's slow import
    rank = _rank()
    if rank > 0:
        return _fit_worker(ds, out, seed, model, loss, data, trainer, optimizer, scheduler, checkpoint)
    output = Output("wt-cls", "fit", out, overwrite=overwrite, resume=resume)
    try:
        return _fit(output, ds, seed, model, loss, data, trainer, optimizer, scheduler, checkpoint, experiment, run_name)
    except BadInput:
        if not output.resumed and not (output.dir / CKPT_DIR).exists():
            output.discard()  # refused before any training: leave nothing behind
        raise


def _counts(items, n: int) -> list[int]:
    out = [0] * n
    for _, label in items:
        out[label] += 1
    return out


def _setup(ds, seed, model, loss, data, optimizer, scheduler):
    import lightning as L

    from wt_cls.backbones import default_preprocessing
    from wt_cls.data import ClassificationDataModule

    L.seed_everything(seed, workers=True, verbose=False)
    d_mean, d_std = default_preprocessing(model.backbone)
    mean, std = model.mean or d_mean, model.std or d_std
    dm = ClassificationDataModule(ds, input_size=model.input_size, mean=mean, std=std, batch_size=data.batch_size,
                                  num_workers=data.num_workers, sampler=data.sampler, augment=data.augment,
                                  scale_min=data.scale_min, hflip=data.hflip, color_jitter=data.color_jitter,
                                  train_split=data.train_split, val_split=data.val_split,
                                  val_fraction=data.val_fraction, seed=seed)
    weights = dm.class_weights(loss.class_weights, loss.beta)
    module = build_module(ds.classes, ModelConfig(**{**asdict(model), "mean": mean, "std": std}), loss, optimizer,
                          scheduler, weights)
    return dm, module


def _callbacks(ckpt_dir: Path, checkpoint: CheckpointConfig):
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor=checkpoint.monitor, mode=checkpoint.mode,
                           save_top_k=1, save_weights_only=True, enable_version_counter=False)
    last = ModelCheckpoint(dirpath=ckpt_dir, filename="last", save_top_k=1, monitor=None,
                           enable_version_counter=False)
    cbs = [best, last]
    if checkpoint.patience > 0:
        cbs.append(EarlyStopping(monitor=checkpoint.monitor, mode=checkpoint.mode, patience=checkpoint.patience))
    return cbs


def _fit_worker(ds, out, seed, model, loss, data, trainer, optimizer, scheduler, checkpoint):
    """A DDP rank other than 0: train in step with rank 0; it alone writes the manifest and tracks."""
    if out is None:
        raise BadInput("several processes need a shared output: pass --out", None, "out")
    ckpt_dir = Path(out).expanduser().absolute()
    ckpt_dir = ckpt_dir.with_name(ckpt_dir.name + ".partial") / CKPT_DIR
    dm, module = _setup(ds, seed, model, loss, data, optimizer, scheduler)
    last = ckpt_dir / "last.ckpt"
    tr = make_trainer(trainer, _callbacks(ckpt_dir, checkpoint))
    with guarded(tr):
        tr.fit(module, dm, ckpt_path=str(last) if last.exists() else None)
    return None


def _fit(output: Output, ds, seed, model, loss, data, trainer_cfg, optimizer, scheduler, checkpoint, experiment,
         run_name) -> RunManifest:
    from wt_core.tracking import training_run

    config = invocation.current().config
    dm, module = _setup(ds, seed, model, loss, data, optimizer, scheduler)
    ckpt_dir = output.dir / CKPT_DIR
    last = ckpt_dir / "last.ckpt"
    resume_from = str(last) if output.resumed and last.exists() else None
    if output.resumed and resume_from is None:
        log.warning("no last checkpoint in %s: training starts over", output.dir)
    tracking_file = output.dir / TRACKING_FILE
    run_id = json.loads(tracking_file.read_text())["run_id"] if output.resumed and tracking_file.exists() else None
    counts = dm.train_counts()
    log.info("training %s on %d images (%s), validating on %d (%s); per class %s", model.backbone,
             len(dm.train_items), data.train_split, len(dm.val_items), dm.val_source, dict(zip(ds.classes, counts, strict=True)))
    tags = {"wt.dataset_id": ds.manifest.id, "wt.tool": "wt-cls", "wt.output": str(output.final)}
    with training_run(experiment, run_name or output.final.name, params=config, tags=tags, run_id=run_id) as tracking:
        import mlflow

        tracking_file.write_text(json.dumps({"run_id": tracking.run_id}))
        (output.dir / "config.json").write_text(json.dumps(config, indent=2))
        if run_id is None:
            mlflow.log_artifact(str(output.dir / "config.json"))
        callbacks = [_epoch_recorder(output.dir, tracking=True), *_callbacks(ckpt_dir, checkpoint)]
        tr = make_trainer(trainer_cfg, callbacks, default_root_dir=output.dir)
        with guarded(tr):
            tr.fit(module, dm, ckpt_path=resume_from)
        if tr.interrupted:
            raise KeyboardInterrupt
        best = ckpt_dir / "best.ckpt"
        if not best.exists():  # the monitored metric never appeared: keep the last weights as best
            raise BadInput(f"the monitored metric {checkpoint.monitor!r} was never logged "
                           "(e.g. val/f1_macro, val/acc, val/loss)", None, "checkpoint.monitor")
        rows = read_metrics(output.dir / METRICS_FILE)
        best_row = _best_row(rows, checkpoint.monitor, checkpoint.mode)
        metrics = {k: v for k, v in best_row.items() if isinstance(v, (int, float)) and v is not None}
        metrics["epochs"] = float(len(rows))
        mlflow.log_artifact(str(best), "weights")
        mlflow.log_artifact(str(output.dir / METRICS_FILE))
        output.add("best", f"{CKPT_DIR}/best.ckpt")
        output.add("last", f"{CKPT_DIR}/last.ckpt")
        output.add("metrics", METRICS_FILE)
        output.add("config", "config.json")
        manifest = build(RunManifest, id=output.id, parents=[ds.manifest], framework="cls", task="classify",
                         classes=ds.classes, dataset_id=ds.manifest.id, weights={"best": "best", "last": "last"},
                         imgsz=model.input_size, metrics=metrics, tracking=tracking,
                         details={"backbone": model.backbone, "input_size": model.input_size,
                                  "mean": module.hparams["mean"], "std": module.hparams["std"],
                                  "train_images": len(dm.train_items), "val_images": len(dm.val_items),
                                  "val_source": dm.val_source, "train_counts": counts,
                                  "class_weights": module.hparams["class_weights"], "monitor": checkpoint.monitor,
                                  "best_epoch": best_row.get("epoch"), "resumed": output.resumed,
                                  "skipped": ds.skipped})
        tracking_file.unlink(missing_ok=True)
        manifest = output.commit(manifest)
        mlflow.log_artifact(str(manifest.path))
    shutil.rmtree(output.final / "lightning_logs", ignore_errors=True)
    log.info("best %s = %s at epoch %s", checkpoint.monitor, metrics.get(checkpoint.monitor), best_row.get("epoch"))
    return manifest
