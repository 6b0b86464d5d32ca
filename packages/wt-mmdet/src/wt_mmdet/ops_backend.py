"""A pure-torch stand-in for mmcv's compiled ops module `mmcv._ext`.

mmcv-lite ships mmcv without its compiled ops, yet `mmcv.ops` (which every
MMDetection model imports) loads `mmcv._ext` at import time and checks that
each op name exists. `install()` registers this module as `mmcv._ext` when no
compiled one is importable, so `uv sync` alone gives a working MMDetection.
A compiled mmcv (a user's `mmcv` build) is found first and always wins.

Ops provided, on any device torchvision supports:
  nms                                   torchvision.ops.nms (offset 0 or 1)
  roi_align_forward/backward (avg mode) torchvision's roi_align kernels
  sigmoid_focal_loss_forward/backward   the focal-loss formula in torch
Every other op name exists (mmcv checks names at import) but raises
`MissingOp` naming the op when a model calls it (deformable convolution,
soft-NMS, rotated boxes, CARAFE ...): such models need a compiled mmcv.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

MODULE = "mmcv._ext"
BACKEND_ATTR = "__wt_pure_torch__"


class MissingOp(RuntimeError):
    """A model called an mmcv op that the pure-torch backend does not provide."""

    def __init__(self, name: str):
        self.op = name
        super().__init__(
            f"mmcv op {name!r} is not available in the pure-torch backend of wt-mmdet; "
            "this model needs a compiled mmcv (see wt-mmdet's README, 'Compiled ops')")


def nms(boxes, scores, iou_threshold: float, offset: int = 0):
    """Indices kept by NMS, best score first (mmcv's `nms(bboxes, scores, iou_threshold, offset)`)."""
    import torch
    from torchvision.ops import nms as tv_nms

    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    if offset:
        boxes = boxes.clone()
        boxes[:, 2:] += offset
    return tv_nms(boxes.float(), scores.float(), float(iou_threshold))


def roi_align_forward(input, rois, output, argmax_y, argmax_x, *, aligned_height: int, aligned_width: int,
                      spatial_scale: float, sampling_ratio: int, pool_mode: int, aligned: bool) -> None:
    """mmcv's RoIAlign forward (writes into `output`); average mode only."""
    import torch

    if pool_mode != 1:
        raise MissingOp("roi_align_forward (pool_mode='max')")
    out = torch.ops.torchvision.roi_align(input, rois.to(input.dtype), float(spatial_scale), int(aligned_height),
                                          int(aligned_width), int(sampling_ratio), bool(aligned))
    output.copy_(out)


def roi_align_backward(grad_output, rois, argmax_y, argmax_x, grad_input, *, aligned_height: int,
                       aligned_width: int, spatial_scale: float, sampling_ratio: int, pool_mode: int,
                       aligned: bool) -> None:
    """mmcv's RoIAlign backward (writes into `grad_input`); average mode only."""
    import torch

    if pool_mode != 1:
        raise MissingOp("roi_align_backward (pool_mode='max')")
    n, c, h, w = grad_input.shape
    grad = torch.ops.torchvision._roi_align_backward(
        grad_output, rois.to(grad_output.dtype), float(spatial_scale), int(aligned_height), int(aligned_width),
        int(n), int(c), int(h), int(w), int(sampling_ratio), bool(aligned))
    grad_input.copy_(grad)


def _focal_terms(input, target, weight, gamma: float, alpha: float):
    import torch
    import torch.nn.functional as F

    n, c = input.shape
    onehot = torch.zeros_like(input)
    fg = (target >= 0) & (target < c)
    onehot[fg, target[fg].long()] = 1.0
    p = input.sigmoid()
    pos = -alpha * (1 - p).pow(gamma) * F.logsigmoid(input)
    neg = -(1 - alpha) * p.pow(gamma) * F.logsigmoid(-input)
    loss = onehot * pos + (1 - onehot) * neg
    if weight is not None and weight.numel() > 0:
        w = torch.zeros(n, dtype=input.dtype, device=input.device)
        w[fg] = weight[target[fg].long()].to(input.dtype)
        loss = loss * w[:, None]
    return loss


def sigmoid_focal_loss_forward(input, target, weight, output, *, gamma: float, alpha: float) -> None:
    """Element-wise sigmoid focal loss (writes into `output`), as mmcv's kernel computes it."""
    import torch

    with torch.no_grad():
        output.copy_(_focal_terms(input, target, weight, gamma, alpha))


def sigmoid_focal_loss_backward(input, target, weight, grad_input, *, gamma: float, alpha: float) -> None:
    """Gradient of the element-wise loss with respect to the logits (writes into `grad_input`)."""
    import torch

    with torch.enable_grad():
        x = input.detach().requires_grad_(True)
        loss = _focal_terms(x, target, weight, gamma, alpha)
        (grad,) = torch.autograd.grad(loss.sum(), x)
    grad_input.copy_(grad)


PROVIDED = ("nms", "roi_align_forward", "roi_align_backward", "sigmoid_focal_loss_forward",
            "sigmoid_focal_loss_backward")


def _missing(name: str):
    def op(*args, **kwargs):
        raise MissingOp(name)

    op.__name__ = name
    op.__qualname__ = name
    return op


class _Loader(importlib.abc.Loader):
    """The loader recorded in the module's spec (mmengine asks `pkgutil.find_loader('mmcv._ext')`)."""

    def create_module(self, spec):
        return build_module()

    def exec_module(self, module) -> None:
        return None


def build_module() -> types.ModuleType:
    """The `mmcv._ext` stand-in: the provided ops, and a raising stub for any other name."""
    mod = types.ModuleType(MODULE, __doc__)
    mod.__spec__ = importlib.machinery.ModuleSpec(MODULE, loader=_Loader(), origin=__name__)
    mod.__file__ = __file__
    setattr(mod, BACKEND_ATTR, True)
    here = sys.modules[__name__]
    for name in PROVIDED:
        setattr(mod, name, getattr(here, name))

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _missing(name)

    mod.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return mod


def compiled_available() -> bool:
    """True when a compiled `mmcv._ext` is importable (a full mmcv build)."""
    existing = sys.modules.get(MODULE)
    if existing is not None:
        return not getattr(existing, BACKEND_ATTR, False)
    try:
        return importlib.util.find_spec(MODULE) is not None
    except (ImportError, ValueError):
        return False


def install() -> str:
    """Make `mmcv.ops` importable: 'compiled' when mmcv has its own ops, else 'pure-torch' (installed now)."""
    if compiled_available():
        return "compiled"
    if MODULE not in sys.modules:
        import mmcv

        mod = build_module()
        sys.modules[MODULE] = mod
        mmcv._ext = mod  # type: ignore[attr-defined]
    return "pure-torch"


def backend() -> str:
    """Which ops backend is (or would be) in use, without installing anything."""
    return "compiled" if compiled_available() else "pure-torch"
