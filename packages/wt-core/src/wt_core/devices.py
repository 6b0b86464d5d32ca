"""One check of a requested device, before any output directory is made (the training harness calls it in
`Training.open`; other commands call `check_device`), and `--device` as Lightning reads it.

`--ultralytics.device 0` on a machine without a GPU used to fail inside the
framework (exit 1) and leave a `.partial` behind; `check_device` refuses it as
a bad input (exit 2) first. wt-core never imports torch: when the calling tool
has already imported it, its count of CUDA devices is used; otherwise the
devices are counted from the device nodes the NVIDIA driver creates
(`/dev/nvidia<N>`) and CUDA_VISIBLE_DEVICES. Only a request that certainly
cannot be met is refused; where the count is unknown (an AMD GPU through ROCm)
the framework decides.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from wt_core.errors import BadInput

CPU = {"", "cpu", "auto", "none"}


def cuda_count() -> int | None:
    """CUDA devices this process can use, or None when that cannot be told cheaply."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.cuda.device_count())
    nodes = [p for p in Path("/dev").glob("nvidia*") if re.fullmatch(r"nvidia\d+", p.name)]
    if not nodes:
        return None if Path("/dev/kfd").exists() else 0  # /dev/kfd: ROCm, counted only by torch
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return len(nodes)
    items = [v for v in visible.split(",") if v.strip()]
    if not items or items[0].strip() == "-1":
        return 0
    return min(len(items), len(nodes))


def _cuda_indices(spec: Any) -> list[int] | None:
    """The CUDA device indices `spec` asks for ([] for any one GPU), or None when it asks for none."""
    if spec is None or isinstance(spec, bool):
        return None
    if isinstance(spec, int):
        return [] if spec < 0 else [spec]  # Ultralytics: -1 picks an idle GPU
    if isinstance(spec, list | tuple):
        return [i for s in spec for i in (_cuda_indices(s) or [])]
    text = str(spec).strip().lower()
    if text in CPU or text == "mps":
        return None
    if text in ("cuda", "gpu"):
        return []
    text = text.removeprefix("cuda:")
    parts = [p.strip() for p in text.strip("[]").split(",") if p.strip()]
    if parts and all(re.fullmatch(r"-?\d+", p) for p in parts):
        return [] if any(int(p) < 0 for p in parts) else [int(p) for p in parts]
    return None  # a spec this check does not know: the framework reads it


def check_device(spec: Any, field: str) -> None:
    """Refuse (exit 2) a device that this machine does not have: a GPU where there is none, GPU 3 of 2."""
    if str(spec).strip().lower() == "mps" and sys.platform != "darwin":
        raise BadInput("device 'mps' (Apple GPU) exists only on macOS; use cpu or a CUDA device", None, field)
    wanted = _cuda_indices(spec)
    if wanted is None:
        return
    n = cuda_count()
    if n is None:
        return
    if n == 0:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        why = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
        raise BadInput(f"device {spec!r} asks for a GPU, but this machine has none{why}; use cpu", None, field)
    missing = [i for i in wanted if i >= n]
    if missing:
        raise BadInput(f"device {spec!r} asks for GPU {missing[0]}, but this machine has {n} (0..{n - 1})", None, field)


def check_accelerator(accelerator: str, devices: Any, field: str) -> None:
    """Lightning's pair: accelerator gpu/cuda with `devices` a count, a list of indices, or auto (the option
    that asked for them is `field`)."""
    if str(accelerator).lower() not in ("gpu", "cuda"):
        check_device(accelerator, field)
        return
    if isinstance(devices, int) or (isinstance(devices, str) and devices.strip().isdigit()):
        count = int(devices)
        check_device("cuda" if count <= 1 else list(range(count)), field)
    elif str(devices).lower() == "auto":
        check_device("cuda", field)
    else:
        check_device(devices, field)


def lightning_device(device: str, devices: int | str = "auto") -> tuple[str, int | str | list[int]]:
    """`--device` as Lightning's (accelerator, devices): 'cpu', 'gpu', 'cuda', 'mps', 'tpu', 'auto', or GPU indices
    ('0', 'cuda:1', '0,1', which override `devices`, the count of a kind)."""
    text = str(device).strip().lower().removeprefix("cuda:")
    if text and all(part.strip().isdigit() for part in text.split(",")):
        return "gpu", [int(part) for part in text.split(",")]
    if text not in ("cpu", "gpu", "cuda", "mps", "auto", "tpu"):
        raise BadInput(f"unknown device {device!r}: use cpu, gpu, mps, auto, or GPU indices such as 0 or 0,1",
                       None, "device")
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    return ("gpu" if text == "cuda" else text), devices


def check_fit_device(device: Any, devices: Any = None) -> None:
    """The one device check of every fit: `device` as the framework reads it, or with Lightning's `devices`
    count beside it (wt-cls), as Lightning's pair."""
    if devices is None:
        check_device(device, "device")
    else:
        check_accelerator(*lightning_device(device, devices), "device")


def one_device(device: str, several: str) -> None:
    """A framework that trains on one device (the first it sees): `--device` as CUDA_VISIBLE_DEVICES, set before
    torch looks at the GPUs ('cpu': none, '0' or 'cuda:1': that GPU, 'auto'/'cuda'/'gpu': the framework's pick);
    several GPUs are refused with `several` (how to train on them instead)."""
    text = str(device).strip().lower().removeprefix("cuda:")
    if text == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    elif text.isdigit():
        os.environ["CUDA_VISIBLE_DEVICES"] = text
    elif "," in text:
        raise BadInput(several, None, "device")
    elif text not in ("auto", "cuda", "gpu"):
        raise BadInput(f"unknown device {device!r}: use cpu, auto or a GPU index such as 0", None, "device")
