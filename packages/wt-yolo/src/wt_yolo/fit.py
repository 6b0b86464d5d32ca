"""`wt-yolo fit`: train an Ultralytics YOLO detector on a dataset manifest.

The harness (`wt_core.training`) owns the output, resume state, metrics.jsonl,
MLflow run and run manifest; this module supplies Ultralytics' loop and one
callback. Ultralytics trains into `DIR.partial/train`; the callback hands each
epoch to the harness from inside `trainer.validate`, before Ultralytics saves
its weights, so best.pt follows the harness's selection metric: on a tiled
dataset, mAP50 on the whole val images (`wt_yolo.select`, an epoch hook), else
Ultralytics' own `fitness`. On a small training split the small-data policy
(`wt_yolo.small_data`) sets what gives the model enough weight updates.
"""

from __future__ import annotations

import csv
import math
from functools import partial
from pathlib import Path
from typing import Any, Literal

from wt_core import console
from wt_core.invocation import command
from wt_core.manifest import RunManifest
from wt_core.metrics_log import finite_metrics
from wt_core.readers import read_detect_dataset
from wt_core.selection import DetectSelectArgs, selection_record
from wt_core.train_args import TrainArgs
from wt_core.training import ANY, MORE, Select, TrainerSpec, Training

from wt_yolo.args import TRAIN, UltralyticsArgs, YoloTrainArgs
from wt_yolo.data import check_trainable, yolo_data_yaml
from wt_yolo.model import resolve_model
from wt_yolo.rot90 import Rot90
from wt_yolo.select import YoloWholeImages, whole_image_validation
from wt_yolo.small_data import Defaults, apply_small_data_policy, measure_size
from wt_yolo.stages import start_from
from wt_yolo.windows import WindowSampling, window_plan

log = console.get_logger("wt-yolo")
TRAIN_DIR = "train"  # Ultralytics' save_dir inside the partial output
SPEC = TrainerSpec(
    tool="wt-yolo", framework="yolo", task="detect", select=Select("fitness", "max"),
    standard={"mAP50": "mAP50", "mAP50_95": "mAP50-95", "precision": "precision", "recall": "recall"},
    may_change={"train.epochs": MORE, "device": ANY, "train.workers": ANY, "train.patience": ANY,
                "ultralytics.plots": ANY, "ultralytics.save_period": ANY})


def clean_metric_name(key: str) -> str:
    """Ultralytics' metric keys as MLflow accepts them: 'metrics/mAP50-95(B)' -> 'mAP50-95'."""
    key = key.removeprefix("metrics/")
    for suffix in ("(B)", "(M)", "(P)"):
        key = key.removesuffix(suffix)
    return key.replace("(", "_").replace(")", "")


def finite(metrics: dict) -> dict[str, float]:
    return finite_metrics(metrics, clean_metric_name)


class EpochCallback:
    """Ultralytics callbacks that hand each finished epoch to the harness.

    The epoch is recorded inside `trainer.validate` (wrapped at train start), so the harness decides which
    weights are best before Ultralytics saves them: the fitness it returns is the selection metric's value.
    An epoch without validation is recorded with its training losses at `on_fit_epoch_end`.
    """

    def __init__(self, t: Training, epochs: int):
        self.t = t
        self.epochs = epochs
        self.pending: int | None = None

    def on_pretrain_routine_start(self, trainer) -> None:
        if trainer.epochs < self.epochs:  # a resume that asks for more epochs (Ultralytics keeps the old count)
            trainer.epochs = trainer.args.epochs = self.epochs

    def on_train_start(self, trainer) -> None:
        self.t.restart_after(trainer.start_epoch)
        validate = trainer.validate

        def validate_and_select():
            metrics, fitness = validate()
            if metrics is None or self.pending is None:
                return metrics, fitness
            rec = self._record(trainer, {**finite(metrics), "fitness": float(fitness)})
            select = self.t.select
            sign = 1.0 if select.mode == "max" else -1.0
            best, value = self.t.best_value, rec.row.get(select.metric)
            trainer.best_fitness = sign * best if best is not None else None
            # equal to best_fitness exactly when the harness chose this epoch; None: no candidate (no whole-image
            # validation this epoch)
            return metrics, None if value is None else sign * value

        trainer.validate = validate_and_select

    def on_train_epoch_end(self, trainer) -> None:
        self.pending = trainer.epoch + 1  # epochs counted from 1, as in Ultralytics' results.csv

    def on_fit_epoch_end(self, trainer) -> None:
        if self.pending is not None:  # not validated this epoch
            self._record(trainer, {})

    def _record(self, trainer, val: dict[str, float]):
        epoch, self.pending = self.pending, None
        return self.t.epoch(epoch, val, train=trainer.label_loss_items(trainer.tloss), lr=trainer.lr or None)

    def attach(self, model) -> None:
        for event in ("on_pretrain_routine_start", "on_train_start", "on_train_epoch_end", "on_fit_epoch_end"):
            model.add_callback(event, getattr(self, event))


def results_csv_rows(path: Path) -> list[dict[str, Any]]:
    """Epoch rows of Ultralytics' results.csv, for when the callbacks did not run (DDP children)."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as f:
        for rec in csv.DictReader(f):
            rec = {k.strip(): v for k, v in rec.items()}
            epoch = int(float(rec.pop("epoch")))
            rec.pop("time", None)
            rows.append({"epoch": epoch, **finite(rec)})
    return rows


def set_bn_momentum(trainer, momentum: float) -> None:
    """The momentum of every BatchNorm layer of the model in training (after Ultralytics built it with 0.03 and
    copied its EMA, which only averages the statistics)."""
    from torch.nn.modules.batchnorm import _BatchNorm

    layers = [m for m in trainer.model.modules() if isinstance(m, _BatchNorm)]
    for m in layers:
        m.momentum = momentum
    log.info("BatchNorm momentum %g in %d layers", momentum, len(layers))


def set_ema(trainer, decay: float | None, tau: float | None) -> None:
    """The EMA's decay curve, `decay * (1 - exp(-updates / tau))` as Ultralytics' `ModelEMA` has it, with the
    values given (None: Ultralytics' 0.9999 and 2000). Set after the EMA is built or restored from a checkpoint,
    so a resumed run keeps it."""
    d, t = (0.9999 if decay is None else decay), (2000.0 if tau is None else tau)
    trainer.ema.decay = lambda x: d * (1 - math.exp(-x / t))
    log.info("weight average (EMA): decay %g, ramp %g updates", d, t)


def _train(t: Training, model_spec: str, data_yaml: Path, u: YoloTrainArgs, device: str | None,
           whole: YoloWholeImages | None, windows: WindowSampling | None = None) -> Any:
    """Start Ultralytics' training, or continue it from last.pt when resuming."""
    from ultralytics import YOLO

    last = t.dir / TRAIN_DIR / "weights" / "last.pt"
    if t.resumed and last.exists():
        model = YOLO(str(last))
        # Ultralytics restores every argument from the checkpoint; the harness has checked that only these changed
        kwargs = {"resume": str(last), "data": str(data_yaml), "workers": u.workers, "device": device,
                  "patience": u.patience, "plots": u.plots, "save_period": u.save_period}
    else:
        if t.resumed:
            t.log_restart()
        model = YOLO(model_spec)
        kwargs = {"data": str(data_yaml), "project": str(t.dir), "name": TRAIN_DIR, "exist_ok": True,
                  **u.to_train_kwargs(), "device": device}
    EpochCallback(t, u.epochs).attach(model)
    if u.bn_momentum is not None:
        model.add_callback("on_pretrain_routine_end", partial(set_bn_momentum, momentum=u.bn_momentum))
    if u.ema_decay is not None or u.ema_tau is not None:
        model.add_callback("on_pretrain_routine_end", partial(set_ema, decay=u.ema_decay, tau=u.ema_tau))
    if whole is not None:
        whole.attach(model)
    if windows is not None:
        windows.attach(model)
    if u.rot90:  # after the windows: it wraps the dataset they build
        Rot90(u.rot90).attach(model)
    model.train(**{k: v for k, v in kwargs.items() if v is not None})
    return model.trainer


@command("wt-yolo", "fit")
def fit(dataset: str, model: str = "yolo11n.yaml", train: TrainArgs = TRAIN,
        ultralytics: UltralyticsArgs = UltralyticsArgs(), device: str | None = None, out: Path | None = None,
        overwrite: bool = False, resume: bool = False, experiment: str = "wt-yolo", run_name: str | None = None,
        defaults: Defaults = "wildtrain", select: DetectSelectArgs = DetectSelectArgs(),
        sample: Literal["tiles", "windows"] = "tiles") -> RunManifest:
    """Train an Ultralytics YOLO detector on a detection dataset manifest.

    One MLflow run records the config as params, the metrics of every epoch, best.pt, the config and
    the run manifest. Several GPUs: `--device 0,1` trains with Ultralytics' own DDP.

    Args:
        dataset: The detection dataset manifest (file, directory, or '-' to read its path from stdin).
        model: A model yaml (`yolo11n.yaml`: from scratch), a weights file, a pretrained name
            (`yolo11n.pt`) found in the current directory or WT_HOME/weights (nothing is downloaded), or a
            run manifest (its best weights: a second stage).
        train: What every trainer has (Ultralytics' epochs, batch, workers, imgsz, lr0, seed, patience, freeze).
        ultralytics: The rest of Ultralytics' train arguments, passed through unchanged.
        device: 'cpu', '0', '0,1' (several GPUs through Ultralytics' DDP), 'mps'; default: Ultralytics picks.
        out: The output directory (default runs/yolo/fit/<id>).
        overwrite: Replace an existing output directory.
        resume: Continue an interrupted run (same --out) from its last.pt; only more epochs, the device, workers,
            patience, plots and save_period may change.
        experiment: The MLflow experiment name.
        run_name: The MLflow run name (default: the output directory's name).
        defaults: 'wildtrain': on a small training split, settings that give the model enough weight
            updates (printed, and recorded in the manifest's details.small_data); 'ultralytics': Ultralytics'
            own defaults. A value set explicitly always wins.
        select: The metric best.pt is chosen by (default: mAP50 on the whole val images when the dataset was
            made by `wt-data tile`, else Ultralytics' fitness), and how often whole images are validated.
        sample: 'tiles': train on the dataset's tiles; 'windows': on fresh windows of the tile size drawn
            from the whole train photos every epoch (a dataset made by `wt-data tile`; `wt_yolo.windows`).
    """
    with Training(SPEC, device) as t:  # the MLflow helper imports mlflow in its own process while the inputs are checked
        ds = read_detect_dataset(dataset)
        train_split, val_split = check_trainable(ds, *t.pick_splits(ds, train.split, train.val_split))
        start, start_run = start_from(model, ds)  # --model RUN: that run's best weights, a second stage
        model_spec = resolve_model(start)  # every input checked before the first policy line
        requested = YoloTrainArgs.of(train, ultralytics)
        metric, whole = whole_image_validation(ds, val_split, select, requested.imgsz)
        windows = WindowSampling(window_plan(ds, train_split, requested.seed)) if sample == "windows" else None
        args, small_data = apply_small_data_policy(requested, ds.splits[train_split].images, defaults)
        measure_size(small_data, ds, train_split, args.imgsz, model)
        t.choose(metric, select.mode)
        t.open(ds, ds.classes, out=out, overwrite=overwrite, resume=resume, experiment=experiment,
               run_name=run_name)
        if whole is not None:
            t.add_epoch_hook(whole)
        data_yaml = yolo_data_yaml(ds, train_split, val_split, t.dir)
        trainer = _train(t, model_spec, data_yaml, args, device, whole, windows)
        if not t.rows:  # Ultralytics' DDP trained in child processes our callbacks never saw
            t.backfill(results_csv_rows(Path(trainer.csv)))
        weights = f"{TRAIN_DIR}/weights"
        if not (t.dir / weights / "best.pt").exists():
            raise RuntimeError(f"Ultralytics finished without writing {t.dir / weights / 'best.pt'}")
        artifacts = {"results": f"{TRAIN_DIR}/{Path(trainer.csv).name}"} if Path(trainer.csv).exists() else {}
        return t.finish({"best": f"{weights}/best.pt", "last": f"{weights}/last.pt"}, imgsz=int(trainer.args.imgsz),
                        artifacts=artifacts,
                        parents=[start_run] if start_run else [],
                        details={"model": model, "train_split": train_split, "val_split": val_split,
                                 "small_data": small_data.record(),
                                 "selection": selection_record(whole),
                                 "sample": windows.record() if windows else "tiles",
                                 "ultralytics_version": _ultralytics_version(),
                                 "train_args": {k: _plain(v) for k, v in vars(trainer.args).items() if k not in _OURS}})


_OURS = {"project", "name", "save_dir", "resume", "exist_ok", "mode"}  # set by wt-yolo (paths of the .partial dir)


def _plain(v: Any) -> Any:
    return v if v is None or isinstance(v, (bool, int, float, str, list)) else str(v)


def _ultralytics_version() -> str:
    import ultralytics

    return ultralytics.__version__
