"""timm backbone names and their default preprocessing (imports timm, not Lightning)."""

from __future__ import annotations

import difflib

import timm
from wt_core.errors import BadInput

from wt_cls.config import IMAGENET_MEAN, IMAGENET_STD


def check_backbone(name: str) -> None:
    """Refuse an unknown timm name, suggesting the closest ones."""
    if timm.is_model(name):
        return
    close = difflib.get_close_matches(name, timm.list_models(), n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else "; see timm.list_models()"
    raise BadInput(f"unknown timm backbone {name!r}{hint}", None, "model.backbone")


def default_preprocessing(backbone: str) -> tuple[list[float], list[float]]:
    """The backbone's own normalisation, else ImageNet's."""
    try:
        cfg = timm.get_pretrained_cfg(backbone)
        if cfg is not None:
            return [float(v) for v in cfg.mean], [float(v) for v in cfg.std]
    except Exception:
        pass
    return list(IMAGENET_MEAN), list(IMAGENET_STD)
