"""On a 10:1 imbalanced set, class weighting and the weighted sampler raise the minority's recall.

Uses the public LightningModule and DataModule with a plain `lightning.Trainer`
(the Python API a notebook uses), with a fixed seed: the direction is asserted.
"""

from __future__ import annotations

import pytest
from cls_helpers import BACKBONE, camtrap_splits, import_folder


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory):
    base = tmp_path_factory.mktemp("cls-imb")
    return import_folder(camtrap_splits(base / "images", train=60, val=20, test=0, imbalance=10), base / "ds")


def _minority_recall(dataset, *, sampler: str = "none", class_weights: str = "none", loss: str = "ce") -> float:
    import lightning as L
    from wt_cls import ClassificationDataModule, ClassifierModule

    L.seed_everything(0, verbose=False)
    dm = ClassificationDataModule(dataset, input_size=64, batch_size=8, num_workers=0, sampler=sampler, augment="none")
    assert dm.train_counts() == [6, 60, 19]  # boar, deer, fox (synth makes deer 60, fox 19, boar 6)
    module = ClassifierModule(dm.classes, backbone=BACKBONE, input_size=64, lr=0.005, loss=loss,
                              class_weights=dm.class_weights(class_weights) if class_weights != "none" else None)
    trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, dm)
    return float(trainer.callback_metrics["val/recall.boar"])


def test_weighting_raises_minority_recall(imbalanced):
    plain = _minority_recall(imbalanced)
    weighted_loss = _minority_recall(imbalanced, class_weights="inverse")
    sampled = _minority_recall(imbalanced, sampler="weighted")
    assert weighted_loss > plain
    assert sampled > plain


def test_class_weight_formulas():
    from wt_cls.data import class_weights

    inv = class_weights([60, 19, 6], "inverse")
    eff = class_weights([60, 19, 6], "effective", beta=0.9)
    assert sum(inv) == pytest.approx(3) and sum(eff) == pytest.approx(3)
    assert inv[2] / inv[0] == pytest.approx(10)
    assert 1 < eff[2] / eff[0] < 10  # effective numbers flatten the inverse frequency
    assert class_weights([5, 5], "none") is None
