"""The mmengine hooks of a fit: the one that connects a Runner to the training harness (epochs, best weights,
the checkpoint ledger), and the one that sets the BatchNorm momentum."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from mmengine.hooks import Hook
from wt_core import console
from wt_core.metrics_log import finite_metrics
from wt_core.training import Training

from wt_mmdet import checkpoints, distributed
from wt_mmdet.small_data import batch_norms

log = console.get_logger("wt-mmdet")


def clean_key(key: str) -> str:
    """mmengine's metric names as our metrics use them: 'coco/bbox_mAP_50' -> 'bbox_mAP_50'."""
    return key.removeprefix("coco/")


class WildTrainHook(Hook):
    """Each finished epoch (mean train losses, lr, validation metrics) to the harness, and every checkpoint
    the Runner saved recorded in the ledger `--resume` trusts. With `keep_best` (the harness selects, on a
    whole-image metric, instead of mmengine's save_best) the epoch checkpoint the harness selects is kept as
    `BEST` (a hard link: CheckpointHook may delete the epoch's file later).

    Runs after CheckpointHook ('VERY_LOW'), so the epoch's checkpoint is on disk when it looks. Under several
    processes (`wt_mmdet.distributed`) only rank 0 records (the harness's rank, checkpoints saved by rank 0 only);
    the others stop early when rank 0 does, so every rank runs the same epochs.
    """

    priority = "LOWEST"
    BEST = "best_selected.pth"

    def __init__(self, t: Training, work_dir: Path, keep_best: bool = False):
        self.t = t
        self.keep_best = keep_best
        self.ledger_dir = Path(work_dir)
        self.sums: dict[str, float] = {}
        self.count = 0
        self.lr: float | None = None
        self.pending: dict[str, float] | None = None

    runner = None

    def before_train(self, runner) -> None:
        self.runner = runner
        self.t.restart_after(runner.epoch)  # the epochs a resumed checkpoint holds

    def before_train_epoch(self, runner) -> None:
        self.sums, self.count = {}, 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for k, v in (outputs or {}).items():
            try:
                self.sums[k] = self.sums.get(k, 0.0) + float(v.detach() if hasattr(v, "detach") else v)
            except (TypeError, ValueError, RuntimeError):
                continue
        self.count += 1
        lrs = runner.optim_wrapper.get_lr().get("lr") or []
        if lrs:
            self.lr = float(lrs[0])  # the rate this epoch trained with (schedulers step after the epoch)

    def _record_checkpoints(self) -> None:
        if self.t.rank > 0:
            return
        known = checkpoints.read_ledger(self.ledger_dir)
        for p in sorted(self.ledger_dir.glob("*.pth")):
            if p.name not in known or known[p.name] != checkpoints.file_sha256(p):
                checkpoints.record(self.ledger_dir, p)

    def _val_follows(self, runner, done: int) -> bool:
        loop = runner.train_loop
        return runner.val_loop is not None and done >= loop.val_begin and (
            done % loop.val_interval == 0 or done == loop.max_epochs)

    def after_train_epoch(self, runner) -> None:
        self._record_checkpoints()
        done = runner.epoch + 1
        self.pending = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        if not self._val_follows(runner, done):
            self._write(done, {})

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._record_checkpoints()  # the best checkpoint is saved after validation
        if self.pending is not None:
            self._write(runner.epoch, metrics or {})

    def _write(self, epoch: int, metrics: dict) -> None:
        train, self.pending = self.pending or {}, None
        record = self.t.epoch(epoch, finite_metrics(metrics, clean_key), train=train, lr=self.lr)
        if self.keep_best and record.is_best:
            self._keep_best(epoch)
        if distributed.from_rank0(record.stop) and self.runner is not None:  # --train.patience
            self.runner.train_loop.stop_training = True

    def _keep_best(self, epoch: int) -> None:
        """The epoch's checkpoint, hard-linked (atomically) as BEST and recorded in the ledger."""
        tmp = self.ledger_dir / f".{self.BEST}"
        tmp.unlink(missing_ok=True)
        os.link(self.ledger_dir / f"epoch_{epoch}.pth", tmp)
        os.replace(tmp, self.ledger_dir / self.BEST)
        checkpoints.record(self.ledger_dir, self.ledger_dir / self.BEST)


class NormMomentumHook(Hook):
    """Sets the momentum of every BatchNorm layer of the model before training (`momentum` None: keeps the
    model's), and after the first training iteration says what the layers trained with.

    `before_train` comes after the Runner has built the model, reverted SyncBN to BatchNorm on one process (or
    converted it, `sync_bn`, on several; either keeps the momentum), initialized the weights and loaded a
    checkpoint to resume from: the momentum is no part of a state_dict, so a resumed run gets it here again.
    """

    priority = "VERY_HIGH"

    def __init__(self, momentum: float | None):
        self.momentum = momentum
        self.reported = False

    def before_train(self, runner) -> None:
        if self.momentum is not None:
            for m in batch_norms(runner.model):
                m.momentum = self.momentum

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.reported:
            return
        self.reported = True
        layers = batch_norms(runner.model)
        if not layers:
            return
        momenta = ", ".join(f"{m:g} in {n} layers" if m is not None else f"a cumulative average in {n} layers"
                            for m, n in Counter(m.momentum for m in layers).most_common())
        held = sum(not m.training for m in layers)
        log.info("BatchNorm momentum %s%s", momenta,
                 f" ({held} held in eval mode by norm_eval or frozen stages: their statistics stay those the "
                 f"model started with)" if held else "")
