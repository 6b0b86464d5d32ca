"""`wt-mmdet fit` as one rank of several processes or nodes, through mmengine's own launchers.

torchrun starts one `wt-mmdet fit` per process with WORLD_SIZE, RANK, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT set: the Runner runs with launcher='pytorch' (env://).
Under SLURM, `srun wt-mmdet fit --mmdet.launcher slurm` lets mmengine read SLURM's
variables (launcher='slurm'), or torchrun runs under srun as above.

Only global rank 0 records (`wt_core.training`): the output, its lock, metrics.jsonl,
the MLflow run, the preview, the checkpoint ledger and the run manifest. The other
ranks join the process group only after rank 0 has opened the output (joining waits
for every rank), so none of them creates the output directory before rank 0 holds
its lock; then they read rank 0's decisions (the checkpoint to resume from, when to
stop early) instead of making their own, so every rank runs the same epochs.

On CPUs the process group is gloo, started here with torch's env:// (mmengine's
'pytorch' launcher selects a CUDA device first); on GPUs mmengine's `init_dist`
starts it with nccl. Validation results are gathered through the process group,
not mmengine's default `.dist_test` folder in the current directory (which every
node would have to share).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from wt_core.errors import BadInput

Launcher = Literal["auto", "none", "pytorch", "slurm"]
TORCHRUN_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
SLURM_VARS = ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_NODELIST")


def resolve(launcher: Launcher, rank: int) -> str:
    """The launcher a fit runs under: 'auto' is 'pytorch' under torchrun (WORLD_SIZE is set), else 'none'.
    A launcher whose variables are missing, or a task of several (`rank` > 0, e.g. SLURM_PROCID) without one,
    is refused before anything is written."""
    if launcher == "auto":
        launcher = "pytorch" if "WORLD_SIZE" in os.environ else "none"
    if launcher == "none":
        if rank > 0:
            raise BadInput(f"this process is rank {rank} of several but has no launcher: start it with torchrun, "
                           "or pass --mmdet.launcher slurm under srun", None, "mmdet.launcher")
        return launcher
    needed = {"pytorch": TORCHRUN_VARS, "slurm": SLURM_VARS}.get(launcher, ())
    missing = [v for v in needed if v not in os.environ]
    if missing:
        how = "torchrun" if launcher == "pytorch" else "srun"
        raise BadInput(f"launcher {launcher!r} needs {', '.join(missing)} in the environment (start it with {how})",
                       None, "mmdet.launcher")
    if launcher == "slurm" and not _cuda():
        raise BadInput("mmengine's slurm launcher needs GPUs; on CPUs start torchrun under srun "
                       "(launcher 'pytorch')", None, "mmdet.launcher")
    return launcher


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@contextmanager
def process_group(launcher: str) -> Iterator[None]:
    """Join the ranks' process group for the block (nothing for 'none'); left again at its end."""
    if launcher == "none":
        yield
        return
    import torch.distributed as torch_dist
    from mmengine.dist import init_dist

    if _cuda():
        init_dist(launcher, backend="nccl")
    else:
        torch_dist.init_process_group("gloo")  # env://, from torchrun's variables
    try:
        yield
    finally:
        torch_dist.destroy_process_group()


def from_rank0(value: Any) -> Any:
    """Rank 0's `value` on every rank (itself when not distributed)."""
    from mmengine.dist import broadcast_object_list, is_distributed

    if not is_distributed():
        return value
    box = [value]
    broadcast_object_list(box, src=0)
    return box[0]


def configure(cfg, launcher: str) -> None:
    """The Runner's Config for `launcher`: mmengine's launcher, the backend, and on CPUs a DDP wrapper without
    device ids; validation results gathered through the process group."""
    if launcher == "none":
        return
    cuda = _cuda()
    cfg.launcher = launcher
    cfg.env_cfg = {**dict(cfg.get("env_cfg") or {}), "dist_cfg": dict(backend="nccl" if cuda else "gloo")}
    if not cuda:  # mmengine's default wrapper passes device_ids=[LOCAL_RANK], which a CPU module refuses
        cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None, broadcast_buffers=False,
                                     find_unused_parameters=cfg.get("find_unused_parameters", False))
    evaluators = cfg.get("val_evaluator")
    for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
        if evaluator:
            evaluator["collect_device"] = "gpu"  # all_gather_object over the group (gloo too), not a shared dir
