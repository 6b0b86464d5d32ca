"""wt-cls: Lightning + timm image classifiers on WildTrain manifests.

`from wt_cls import ClassifierModule, ClassificationDataModule` gives the
LightningModule and the LightningDataModule (they work with a plain
`lightning.Trainer`); `from wt_cls import fit, validate, test, predict, export`
gives the commands as functions. Torch and Lightning are imported on first use.
"""

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "ClassifierModule": "wt_cls.model",
    "ClassificationDataModule": "wt_cls.data",
    "fit": "wt_cls.fit",
    "validate": "wt_cls.evaluate",
    "test": "wt_cls.evaluate",
    "predict": "wt_cls.predict",
    "export": "wt_cls.export",
    "load": "wt_cls.predictor",
    "Predictor": "wt_cls.predictor",
}
__all__ = ["__version__", *_LAZY]


__getattr__ = lazy_attributes(__name__, _LAZY)
