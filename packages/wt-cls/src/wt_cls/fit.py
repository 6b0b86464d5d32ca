"""`wt-cls fit`: train a classifier on a classification dataset, one MLflow run, a run manifest.

The harness (`wt_core.training`) owns the output, resume state, metrics.jsonl,
MLflow run and run manifest; this module supplies a plain `lightning.Trainer`
and one callback that hands each epoch to the harness and saves best.ckpt
when the harness selects the epoch. Under Lightning's DDP every rank runs this
function; only rank 0 records.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from wt_core.console import get_logger, stderr_is_terminal
from wt_core.devices import lightning_device
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import RunManifest
from wt_core.train_args import SelectArgs, TrainArgs
from wt_core.training import ANY, MORE, Select, TrainerSpec, Training

from wt_cls import __version__
from wt_cls.config import (
    SELECT,
    TRAIN,
    LoaderConfig,
    LossConfig,
    ModelConfig,
    OptimizerConfig,
    SchedulerConfig,
    TrainerConfig,
    check_train,
)
from wt_cls.dataset import check_images, read_classification, reraise_unreadable, train_val_items

log = get_logger("wt-cls")
CKPT_DIR = "checkpoints"
SPEC = TrainerSpec(
    tool="wt-cls", framework="cls", task="classify", select=Select("val/f1_macro", "max"),
    standard={"acc": "val/acc", "f1_macro": "val/f1_macro"}, checkpoint_after_epoch=True,  # last.ckpt: after our row
    may_change={"train.epochs": MORE, "device": ANY, "train.workers": ANY, "trainer.progress_bar": ANY,
                "trainer.log_every_n_steps": ANY, "train.patience": ANY})


def _epoch_callback(t: Training, best_path: Path):
    """A Lightning callback: each finished epoch to the harness; best.ckpt saved when the harness selects it."""
    import lightning as L

    class EpochCallback(L.Callback):
        """Also keeps the random state in last.ckpt and restores it before the first epoch after a resume (a
        resumed run measured so far still differs slightly from an uninterrupted one; a `weighted` sampler's own
        generator restarts)."""

        rng: dict | None = None

        def state_dict(self) -> dict:
            return {"rng": _rng_states()}

        def load_state_dict(self, state_dict: dict) -> None:
            self.rng = state_dict.get("rng")

        def on_train_start(self, trainer, pl_module) -> None:
            t.restart_after(trainer.current_epoch)

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            t.checkpointed()  # ModelCheckpoint saved last.ckpt after the previous epoch's row
            if self.rng is not None:  # the first epoch after a resume: before its data loader draws a seed
                _set_rng_states(self.rng)
                self.rng = None

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking:
                return
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 0)() == 1}
            val = {k: v for k, v in metrics.items() if not k.startswith("train/")}
            train = {k: v for k, v in metrics.items() if k.startswith("train/")}
            lr = float(trainer.optimizers[0].param_groups[0]["lr"]) if trainer.optimizers else None
            is_best = t.epoch(trainer.current_epoch + 1, val, train, lr).is_best  # False on ranks > 0
            if trainer.strategy.broadcast(is_best, src=0):
                trainer.save_checkpoint(best_path, weights_only=True)

    return EpochCallback()


def _rng_states() -> dict:
    import random

    import numpy as np
    import torch

    name, keys, pos, has_gauss, gauss = np.random.get_state()  # as plain values: checkpoints load weights_only
    states = {"torch": torch.get_rng_state(), "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
              "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    import random

    import numpy as np
    import torch

    torch.set_rng_state(states["torch"])
    name, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


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


def make_trainer(cfg: TrainerConfig, epochs: int, device: str, callbacks: list, *, default_root_dir: Path | None = None):
    """A plain lightning.Trainer from our trainer section (no logger of its own: the harness records epochs)."""
    import lightning as L

    progress = cfg.progress_bar and stderr_is_terminal()
    if progress:
        from lightning.pytorch.callbacks import RichProgressBar

        callbacks = [*callbacks, RichProgressBar(console_kwargs={"stderr": True})]
    accelerator, devices = lightning_device(device, cfg.devices)
    try:
        return L.Trainer(max_epochs=epochs, accelerator=accelerator, devices=devices, strategy=cfg.strategy,
                         num_nodes=cfg.num_nodes, precision=cfg.precision,
                         accumulate_grad_batches=cfg.accumulate_grad_batches, gradient_clip_val=cfg.gradient_clip_val,
                         deterministic=cfg.deterministic, log_every_n_steps=cfg.log_every_n_steps, logger=False,
                         callbacks=callbacks, enable_progress_bar=progress, enable_model_summary=False,
                         default_root_dir=default_root_dir)
    except (ValueError, TypeError, RuntimeError) as e:  # MisconfigurationException is a ValueError
        raise BadInput(" ".join(str(e).split())[:300], None, "device") from None


def build_module(classes: list[str], model: ModelConfig, train: TrainArgs, loss: LossConfig,
                 optimizer: OptimizerConfig, scheduler: SchedulerConfig, class_weights: list[float] | None):
    from wt_cls.model import ClassifierModule

    return ClassifierModule(
        classes, backbone=model.backbone, pretrained=model.pretrained or bool(model.weights), weights=model.weights,
        freeze_backbone=bool(train.freeze), hidden=model.hidden, dropout=model.dropout,
        input_size=train.imgsz, mean=model.mean, std=model.std, loss=loss.name, class_weights=class_weights,
        label_smoothing=loss.label_smoothing, gamma=loss.gamma, optimizer=optimizer.name, lr=train.lr,
        weight_decay=optimizer.weight_decay, momentum=optimizer.momentum, scheduler=scheduler.name,
        warmup_epochs=scheduler.warmup_epochs, step_size=scheduler.step_size, step_gamma=scheduler.gamma)


@command("wt-cls", "fit", __version__)
def fit(
    dataset: str,
    out: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    device: str = "auto",
    train: TrainArgs = TRAIN,
    select: SelectArgs = SELECT,
    model: ModelConfig = ModelConfig(),
    loss: LossConfig = LossConfig(),
    loader: LoaderConfig = LoaderConfig(),
    trainer: TrainerConfig = TrainerConfig(),
    optimizer: OptimizerConfig = OptimizerConfig(),
    scheduler: SchedulerConfig = SchedulerConfig(),
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
        resume: Continue the unfinished run in --out from its last checkpoint; only more epochs, the device,
            workers, progress bar, logging interval and early-stopping patience may change.
        device: cpu, gpu, mps, auto, or GPU indices such as 0 or 0,1 (several: Lightning's DDP).
        train: What every trainer has (epochs, batch, workers, imgsz: the square input size, lr, seed, patience:
            early stopping on the selection metric, freeze: any N > 0 trains only the head, the splits; without a
            val split, loader.val_fraction of the train split is held out).
        select: The metric that picks best.ckpt (val/f1_macro, val/acc, val/loss, ...) and its mode.
        model: The network.
        loss: The loss and class weighting.
        loader: Sampling and augmentation.
        trainer: Lightning Trainer settings.
        optimizer: The optimizer.
        scheduler: The learning-rate schedule.
        experiment: MLflow experiment name.
        run_name: MLflow run name (default: the output directory's name).
    """
    check_train(train)
    if model.weights and not Path(model.weights).expanduser().is_file():
        raise BadInput("weights file not found", model.weights, "model.weights")
    with Training(SPEC, device, trainer.devices) as t:
        t.choose(select.metric or SELECT.metric, select.mode)
        ds = read_classification(dataset)
        split, val_split = t.pick_splits(ds.manifest, train.split, train.val_split, val_names=("val",))
        items = train_val_items(ds, split, val_split, loader.val_fraction, train.seed)
        check_images(items.train + items.val)
        missing = [c for c, n in zip(ds.classes, _counts(items.train, len(ds.classes)), strict=True) if n == 0]
        if missing:
            raise BadInput(f"no training images for class(es) {', '.join(missing)}", ds.manifest.path,
                           f"splits.{split}")
        from wt_cls.backbones import check_backbone

        check_backbone(model.backbone)  # before Lightning's slow import
        t.open(ds.manifest, ds.classes, out=out, overwrite=overwrite, resume=resume, experiment=experiment,
               run_name=run_name)
        dm, module = _setup(ds, items, train, model, loss, loader, optimizer, scheduler)
        ckpt_dir = t.dir / CKPT_DIR
        last, best = ckpt_dir / "last.ckpt", ckpt_dir / "best.ckpt"
        if t.resumed and not last.exists():
            t.log_restart()
        counts = dm.train_counts()
        if t.rank == 0:
            log.info("training %s on %d images (%s), validating on %d (%s); per class %s", model.backbone,
                     len(dm.train_items), split, len(dm.val_items), dm.val_source,
                     dict(zip(ds.classes, counts, strict=True)))
        callbacks = [_epoch_callback(t, best), *_callbacks(ckpt_dir, t.select, train.patience)]
        tr = make_trainer(trainer, train.epochs, device, callbacks, default_root_dir=t.dir)
        with guarded(tr):
            tr.fit(module, dm, ckpt_path=str(last) if resume and last.exists() else None)
        if tr.interrupted:
            raise KeyboardInterrupt
        if t.rank == 0 and not best.exists():
            raise BadInput(f"the selection metric {t.select.metric!r} was never logged "
                           "(e.g. val/f1_macro, val/acc, val/loss)", None, "select.metric")
        shutil.rmtree(t.dir / "lightning_logs", ignore_errors=True)
        return t.finish({"best": f"{CKPT_DIR}/best.ckpt", "last": f"{CKPT_DIR}/last.ckpt"}, imgsz=train.imgsz,
                        details={"backbone": model.backbone, "input_size": train.imgsz,
                                 "mean": module.hparams["mean"], "std": module.hparams["std"],
                                 "train_split": split, "val_split": val_split,
                                 "train_images": len(dm.train_items), "val_images": len(dm.val_items),
                                 "val_source": dm.val_source, "train_counts": counts,
                                 "class_weights": module.hparams["class_weights"], "monitor": t.select.metric,
                                 "world_size": tr.world_size, "skipped": ds.skipped})


def _counts(items, n: int) -> list[int]:
    out = [0] * n
    for _, label in items:
        out[label] += 1
    return out


def _setup(ds, items, train, model, loss, loader, optimizer, scheduler):
    import lightning as L

    from wt_cls.backbones import default_preprocessing
    from wt_cls.data import ClassificationDataModule

    L.seed_everything(train.seed, workers=True, verbose=False)
    d_mean, d_std = default_preprocessing(model.backbone)
    mean, std = model.mean or d_mean, model.std or d_std
    dm = ClassificationDataModule(ds, input_size=train.imgsz, mean=mean, std=std, batch_size=int(train.batch),
                                  num_workers=train.workers, sampler=loader.sampler, augment=loader.augment,
                                  scale_min=loader.scale_min, hflip=loader.hflip, color_jitter=loader.color_jitter,
                                  val_fraction=loader.val_fraction, seed=train.seed, items=items)
    weights = dm.class_weights(loss.class_weights, loss.beta)
    module = build_module(ds.classes, ModelConfig(**{**asdict(model), "mean": mean, "std": std}), train, loss,
                          optimizer, scheduler, weights)
    return dm, module


def _callbacks(ckpt_dir: Path, select: Select, patience: int):
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    cbs = [ModelCheckpoint(dirpath=ckpt_dir, filename="last", save_top_k=1, monitor=None, enable_version_counter=False)]
    if patience > 0:
        cbs.append(EarlyStopping(monitor=select.metric, mode=select.mode, patience=patience))
    return cbs
