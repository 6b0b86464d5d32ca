"""`wt-cls export`: a trained classifier as TorchScript and ONNX, checked against the eager model.

Both take a normalised float batch (N, 3, size, size) and return logits; the
preprocessing (size, mean, std, resize) and the class names are written beside
them in `preprocessing.json` and recorded in the manifest.
"""

from __future__ import annotations

import json
from typing import Literal

from wt_core.console import get_logger
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import RunManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output

from wt_cls import __version__
from wt_cls.predictor import resolve_checkpoint

log = get_logger("wt-cls")
TOLERANCE = 1e-4


def _plain_net(module):
    """Backbone + head as a plain nn.Module (no Lightning attributes to script)."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self, backbone: nn.Module, head: nn.Module):
            super().__init__()
            self.backbone, self.head = backbone, head

        def forward(self, x):
            return self.head(self.backbone(x))

    return Net(module.backbone, module.head).eval()


def to_torchscript(net, example):
    """Script the net; where the backbone does not script, trace it. Returns (module, method)."""
    import torch

    try:
        return torch.jit.script(net), "script"
    except Exception as e:
        log.info("scripting failed (%s); tracing instead", type(e).__name__)
        with torch.no_grad():
            return torch.jit.trace(net, example, check_trace=False), "trace"


@command("wt-cls", "export", __version__)
def export(run: str, format: Literal["all", "torchscript", "onnx"] = "all", opset: int = 17,
           out: str | None = None, overwrite: bool = False) -> RunManifest:
    """Export a trained classifier to TorchScript and/or ONNX (dynamic batch), checked against the eager model.

    Args:
        run: A wt-cls run manifest (file, directory or -) or a .ckpt file.
        format: all, torchscript or onnx.
        opset: ONNX opset version.
        out: Output directory (default runs/cls/export/<id>).
        overwrite: Replace an existing output directory.
    """
    source, ckpt = resolve_checkpoint(run)
    output = Output("wt-cls", "export", out, overwrite=overwrite)
    import torch

    from wt_cls.predictor import load_module

    try:
        module = load_module(ckpt)
    except BadInput:
        output.discard()
        raise
    hp = module.hparams
    net = _plain_net(module)
    size = int(hp["input_size"])
    gen = torch.Generator().manual_seed(0)
    example = torch.randn(2, 3, size, size, generator=gen)
    with torch.no_grad():
        eager = net(example)
    diffs: dict[str, float] = {}
    weights: dict[str, str] = {}
    details: dict = {}
    if format in ("all", "torchscript"):
        ts, method = to_torchscript(net, example)
        ts.save(str(output.path("model.torchscript.pt")))
        with torch.no_grad():
            diffs["torchscript"] = float((ts(example) - eager).abs().max())
        output.add("torchscript", "model.torchscript.pt")
        weights["torchscript"] = "torchscript"
        details["torchscript_method"] = method
    if format in ("all", "onnx"):
        import warnings

        import onnxruntime as ort

        path = output.path("model.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (example,), str(path), dynamo=False, opset_version=opset, input_names=["images"],
                              output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        diffs["onnx"] = float(abs(session.run(None, {"images": example.numpy()})[0] - eager.numpy()).max())
        output.add("onnx", "model.onnx")
        weights["onnx"] = "onnx"
        details["onnx_opset"] = opset
    pre = {"classes": list(hp["classes"]), "input_size": size, "mean": list(hp["mean"]), "std": list(hp["std"]),
           "resize": hp.get("resize", "squash"), "input": "RGB float32 in [0, 1], normalised, NCHW",
           "output": "logits (softmax for probabilities)"}
    output.path("preprocessing.json").write_text(json.dumps(pre, indent=2))
    output.add("preprocessing", "preprocessing.json")
    for fmt, d in diffs.items():
        log.info("%s: max |output - eager| = %.2e", fmt, d)
        if d > TOLERANCE:
            log.warning("%s output differs from the eager model by %.2e (> %.0e)", fmt, d, TOLERANCE)
    m = build(RunManifest, id=output.id, parents=[source] if source else [], framework="cls", task="classify",
              classes=list(hp["classes"]), dataset_id=source.dataset_id if source else "unknown", weights=weights,
              imgsz=size, metrics=dict(source.metrics) if source else {},
              details={**details, **pre, "max_abs_diff": diffs, "exported_from": str(ckpt),
                       "backbone": hp["backbone"]})
    return output.commit(m)
