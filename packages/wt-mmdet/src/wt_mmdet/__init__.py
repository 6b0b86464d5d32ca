"""wt-mmdet: MMDetection fit, test and predict on WildTrain manifests, with no compile step.

`fit`, `test` and `predict` are the commands as typed functions; `Detector`
loads a run's model for use in Python; `ops_backend` is the pure-torch
`mmcv._ext`. Importing this package imports neither torch nor mmdet, and its
attributes are imported on first use.
"""

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {"test": "wt_mmdet.evaluate", "fit": "wt_mmdet.fit", "Detector": "wt_mmdet.infer", "predict": "wt_mmdet.predict"}
__all__ = ["__version__", *_LAZY]
__getattr__ = lazy_attributes(__name__, _LAZY)
