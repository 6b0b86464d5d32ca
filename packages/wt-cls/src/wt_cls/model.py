"""`ClassifierModule`: a timm backbone, a small head, the loss, metrics and optimizer, as one LightningModule.

Everything needed to rebuild the predictor travels in `hparams` (class names,
backbone, head, input size, mean, std), so a checkpoint alone is enough:
`ClassifierModule.load_from_checkpoint(path)`.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import timm
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)
from wt_core.errors import BadInput

from wt_cls.backbones import check_backbone, default_preprocessing


def create_backbone(name: str, pretrained: bool, weights: str | None) -> nn.Module:
    """A timm feature extractor (no classifier); pretrained weights from a local file or the offline cache."""
    check_backbone(name)
    if weights:
        from pathlib import Path

        if not Path(weights).is_file():
            raise BadInput("weights file not found", weights, "model.weights")
        try:
            return timm.create_model(name, pretrained=True, num_classes=0, pretrained_cfg_overlay={"file": str(weights)})
        except Exception as e:
            raise BadInput(f"cannot load these weights into {name}: {' '.join(str(e).split())[:200]}", weights,
                           "model.weights") from None
    if not pretrained:
        return timm.create_model(name, pretrained=False, num_classes=0)
    try:
        return timm.create_model(name, pretrained=True, num_classes=0)
    except Exception:
        cfg = timm.get_pretrained_cfg(name)
        where = getattr(cfg, "hf_hub_id", None) or getattr(cfg, "url", None) or "its source"
        raise BadInput(f"pretrained weights for {name} are not on disk and the tools never download: fetch them "
                       f"once from {where} (e.g. into the Hugging Face cache) or pass --model.weights FILE",
                       None, "model.pretrained") from None


def make_head(in_features: int, num_classes: int, hidden: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(width, h), nn.ReLU(inplace=True)]
        width = h
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float, weight: torch.Tensor | None,
               label_smoothing: float) -> torch.Tensor:
    """Multi-class focal loss: cross-entropy scaled by (1 - p_true)^gamma, weighted per class."""
    ce = F.cross_entropy(logits, target, reduction="none", label_smoothing=label_smoothing)
    p_true = F.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    loss = (1.0 - p_true).clamp(min=0).pow(gamma) * ce
    if weight is not None:
        w = weight[target]
        return (loss * w).sum() / w.sum()
    return loss.mean()


class ClassifierModule(L.LightningModule):
    """An image classifier: `timm` backbone + head, trained with a plain Lightning `Trainer`.

    Args:
        classes: Class names; a class id is its index.
        backbone: A timm model name.
        pretrained: Start from the backbone's pretrained weights (must be on disk).
        weights: A local weights file for the backbone.
        freeze_backbone: Train only the head.
        hidden: Hidden layer sizes of the head.
        dropout: Dropout in the head.
        input_size: Square input size.
        mean: Normalisation mean (default: the backbone's).
        std: Normalisation std (default: the backbone's).
        loss: ce or focal.
        class_weights: Per-class loss weights (one per class), or None.
        label_smoothing: Label smoothing.
        gamma: Focal loss gamma.
        optimizer: adamw, adam or sgd.
        lr: Learning rate.
        weight_decay: Weight decay.
        momentum: SGD momentum.
        scheduler: cosine, step or none.
        warmup_epochs: Linear warm-up epochs.
        step_size: Step scheduler's period in epochs.
        step_gamma: Step scheduler's decay.
    """

    def __init__(self, classes: list[str], backbone: str = "resnet18", pretrained: bool = False,
                 weights: str | None = None, freeze_backbone: bool = False, hidden: list[int] | None = None,
                 dropout: float = 0.0, input_size: int = 224, mean: list[float] | None = None,
                 std: list[float] | None = None, loss: str = "ce", class_weights: list[float] | None = None,
                 label_smoothing: float = 0.0, gamma: float = 2.0, optimizer: str = "adamw", lr: float = 1e-3,
                 weight_decay: float = 1e-4, momentum: float = 0.9, scheduler: str = "cosine",
                 warmup_epochs: int = 0, step_size: int = 10, step_gamma: float = 0.1):
        super().__init__()
        if mean is None or std is None:
            d_mean, d_std = default_preprocessing(backbone)
            mean, std = mean or d_mean, std or d_std
        # Weights come from the checkpoint from now on: a reload never looks for pretrained files.
        self.save_hyperparameters({
            "classes": list(classes), "backbone": backbone, "pretrained": False, "weights": None,
            "freeze_backbone": freeze_backbone, "hidden": list(hidden or []), "dropout": dropout,
            "input_size": input_size, "mean": list(mean), "std": list(std), "loss": loss,
            "class_weights": class_weights, "label_smoothing": label_smoothing, "gamma": gamma,
            "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay, "momentum": momentum,
            "scheduler": scheduler, "warmup_epochs": warmup_epochs, "step_size": step_size, "step_gamma": step_gamma,
            "resize": "squash",
        })
        n = len(classes)
        self.backbone = create_backbone(backbone, pretrained, weights)
        if freeze_backbone:
            self.backbone.requires_grad_(False)
        features = getattr(self.backbone, "head_hidden_size", None) or self.backbone.num_features
        self.head = make_head(features, n, list(hidden or []), dropout)
        weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.register_buffer("class_weight", weight, persistent=False)

        def metrics(prefix: str) -> MetricCollection:
            return MetricCollection({
                "acc": MulticlassAccuracy(n, average="micro"),
                "acc_macro": MulticlassAccuracy(n, average="macro"),
                "f1_macro": MulticlassF1Score(n, average="macro"),
                "recall": MulticlassRecall(n, average="none"),
                "precision": MulticlassPrecision(n, average="none"),
                "f1": MulticlassF1Score(n, average="none"),
            }, prefix=prefix)

        self.val_metrics = metrics("val/")
        self.test_metrics = metrics("test/")

    @property
    def classes(self) -> list[str]:
        return list(self.hparams["classes"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a normalised batch (N, 3, H, W)."""
        return self.head(self.backbone(x))

    def compute_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        hp = self.hparams
        if hp["loss"] == "focal":
            return focal_loss(logits, target, hp["gamma"], self.class_weight, hp["label_smoothing"])
        return F.cross_entropy(logits, target, weight=self.class_weight, label_smoothing=hp["label_smoothing"])

    def on_train_epoch_start(self) -> None:
        if self.hparams["freeze_backbone"]:
            self.backbone.eval()  # frozen batch-norm statistics stay frozen

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.compute_loss(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))
        return loss

    def _eval_step(self, batch, metrics: MetricCollection, prefix: str) -> None:
        x, y = batch
        logits = self(x)
        self.log(f"{prefix}loss", self.compute_loss(logits, y), on_epoch=True, prog_bar=True, batch_size=len(y))
        metrics.update(logits, y)

    def _eval_epoch_end(self, metrics: MetricCollection, prefix: str) -> None:
        values = metrics.compute()
        for metric in ("recall", "precision", "f1"):  # per class: `val/recall.<class>`
            for name, v in zip(self.classes, values.pop(f"{prefix}{metric}"), strict=True):
                self.log(f"{prefix}{metric}.{name}", v)
        for k, v in values.items():
            self.log(k, v, prog_bar=k.endswith(("acc", "f1_macro")))
        metrics.reset()

    def validation_step(self, batch, batch_idx):
        self._eval_step(batch, self.val_metrics, "val/")

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end(self.val_metrics, "val/")

    def test_step(self, batch, batch_idx):
        self._eval_step(batch, self.test_metrics, "test/")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end(self.test_metrics, "test/")

    def predict_step(self, batch, batch_idx):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        return F.softmax(self(x), dim=1)

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]
        if hp["optimizer"] == "sgd":
            opt = torch.optim.SGD(params, lr=hp["lr"], momentum=hp["momentum"], nesterov=True,
                                  weight_decay=hp["weight_decay"])
        elif hp["optimizer"] == "adam":
            opt = torch.optim.Adam(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        else:
            opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        if hp["scheduler"] == "none" and hp["warmup_epochs"] <= 0:
            return opt
        total = max(1, int(self.trainer.max_epochs or 1)) if self._trainer is not None else 1
        warm = max(0, int(hp["warmup_epochs"]))

        def factor(epoch: int) -> float:
            if epoch < warm:
                return (epoch + 1) / (warm + 1)
            e = epoch - warm
            if hp["scheduler"] == "cosine":
                span = max(1, total - warm)
                return 0.5 * (1 + math.cos(math.pi * min(e, span) / span))
            if hp["scheduler"] == "step":
                return hp["step_gamma"] ** (e // max(1, hp["step_size"]))
            return 1.0

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
