"""Safe checkpoint loading for mmengine.

mmengine 0.10.7 calls `torch.load(file)` with torch's default, which is
`weights_only=True` since torch 2.6: the checkpoints its own Runner saves
(message hub with `HistoryBuffer`, numpy scalars) then fail to load. Setting
`TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1` would open every load to arbitrary
pickles, so instead mmengine's local-file loader is replaced by `load`:

- a file whose sha256 is *trusted* is loaded with the full unpickler. A digest
  is trusted when it is an artifact of a run manifest wt-mmdet wrote (read and
  verified through wt-core) or listed in the ledger `checkpoints.sha256` that a
  running `fit` keeps in its own partial output (what `--resume` loads);
- any other file goes through `torch.load(weights_only=True)`; a file that
  holds pickled objects beyond tensors is refused with one line (BadInput).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from wt_core.errors import BadInput
from wt_core.hashing import file_sha256

LEDGER = "checkpoints.sha256"
_trusted: set[str] = set()


def trust(digest: str) -> None:
    """Allow the full unpickler for the file with this sha256 (one we wrote)."""
    _trusted.add(digest)


def trust_run(run) -> None:
    """Trust the checkpoints recorded as artifacts of a verified wt-mmdet run manifest."""
    if getattr(run, "framework", None) != "mmdet":
        return
    for art in run.artifacts.values():
        if art.path.endswith(".pth"):
            trust(art.sha256)


def read_ledger(directory: Path) -> dict[str, str]:
    """File name -> sha256 of the checkpoints a fit saved in `directory`."""
    p = Path(directory) / LEDGER
    out: dict[str, str] = {}
    if p.exists():
        for line in p.read_text().splitlines():
            digest, _, name = line.partition("  ")
            if digest and name:
                out[name] = digest
    return out


def record(directory: Path, checkpoint: Path) -> str:
    """Append a checkpoint we just saved to the ledger (and trust it)."""
    digest = file_sha256(checkpoint)
    with open(Path(directory) / LEDGER, "a", encoding="utf-8") as f:
        f.write(f"{digest}  {Path(checkpoint).name}\n")
    trust(digest)
    return digest


def trust_ledger(directory: Path) -> dict[str, str]:
    """Trust every checkpoint in a ledger whose file still has the recorded digest; returns them."""
    ok: dict[str, str] = {}
    for name, digest in read_ledger(directory).items():
        p = Path(directory) / name
        if p.is_file() and file_sha256(p) == digest:
            trust(digest)
            ok[name] = digest
    return ok


def load(filename: str | Path, map_location=None):
    """`torch.load` that unpickles fully only for trusted files; weights only for anything else."""
    import pickle

    import torch

    path = Path(filename)
    if not path.is_file():
        raise BadInput("checkpoint not found", path)
    if file_sha256(path) in _trusted:
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise BadInput("checkpoint holds pickled objects and was not written by a wt-mmdet run we can verify; "
                       "only its weights could be read safely: save a plain state_dict "
                       "(torch.save(model.state_dict(), f)) or pass the run manifest", path, "checkpoint") from None
    except Exception as e:  # torch raises many kinds (KeyError, RuntimeError, EOFError) for non-checkpoints
        raise BadInput(f"not a readable torch checkpoint: {type(e).__name__} {' '.join(str(e).split())[:200]}", path,
                       "checkpoint") from None


def check_loadable(filename: str | Path, field: str | None = None) -> None:
    """Refuse early (before MMDetection is imported) a checkpoint `load` would refuse; `field`: the option
    that named it, for the error line."""
    try:
        load(filename, map_location="cpu")
    except BadInput as e:
        e.field = field or e.field
        raise


def _mmengine_loader(filename, map_location):
    return load(filename, map_location=map_location)


@contextlib.contextmanager
def safe_loading():
    """While active, mmengine loads local checkpoints through `load` (restored afterwards)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    saved = CheckpointLoader._schemes.get("")
    CheckpointLoader.register_scheme(prefixes="", loader=_mmengine_loader, force=True)
    try:
        yield
    finally:
        if saved is not None:
            CheckpointLoader.register_scheme(prefixes="", loader=saved, force=True)
