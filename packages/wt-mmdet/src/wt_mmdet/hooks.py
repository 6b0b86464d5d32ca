"""The mmengine hook that connects a Runner to WildTrain: metrics.jsonl, MLflow, checkpoint ledger."""

from __future__ import annotations

from pathlib import Path

from mmengine.hooks import Hook
from wt_core import console
from wt_core.metrics_log import MetricsLog, finite_metrics
from wt_core.mlflow_process import MlflowProcess

from wt_mmdet import checkpoints

log = console.get_logger("wt-mmdet")


def clean_key(key: str) -> str:
    """mmengine's metric names as our metrics use them: 'coco/bbox_mAP_50' -> 'bbox_mAP_50'."""
    return key.removeprefix("coco/")


def finite(metrics: dict) -> dict[str, float]:
    return finite_metrics(metrics, clean_key)


class WildTrainHook(Hook):
    """One line per epoch in metrics.jsonl (train losses, lr, validation metrics), the same to MLflow,
    and every checkpoint the Runner saved recorded in the ledger `--resume` trusts.

    Runs after CheckpointHook ('VERY_LOW'), so the epoch's checkpoint is on disk when it looks.
    """

    priority = "LOWEST"

    def __init__(self, out_dir: Path, work_dir: Path, run: MlflowProcess):
        self.metrics_log = MetricsLog(out_dir)
        self.ledger_dir = Path(work_dir)
        self.run = run
        self.sums: dict[str, float] = {}
        self.count = 0
        self.lr: float | None = None
        self.pending: dict[str, float] | None = None
        self.last: dict[str, float] = {}
        self.epochs_logged = 0

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
        row = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        if self.lr is not None:
            row["lr"] = self.lr
        self.pending = row
        if not self._val_follows(runner, done):
            self._write(done, {})

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._record_checkpoints()  # the best checkpoint is saved after validation
        if self.pending is not None:
            self._write(runner.epoch, metrics or {})

    def _write(self, epoch: int, metrics: dict) -> None:
        row = finite({**(self.pending or {}), **metrics})
        self.pending = None
        self.metrics_log.write(epoch, row)
        self.last = row
        self.epochs_logged += 1
        self.run.log_metrics(row, step=epoch)
        log.info("epoch %d: %s", epoch, ", ".join(f"{k}={v:.4g}" for k, v in row.items()))
