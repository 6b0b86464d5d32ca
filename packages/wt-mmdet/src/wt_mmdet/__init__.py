"""wt-mmdet: MMDetection fit, test and predict on WildTrain manifests, with no compile step.

`fit`, `test` and `predict` are the commands as typed functions; `Detector`
loads a run's model for use in Python; `ops_backend` is the pure-torch
`mmcv._ext`. Importing this package imports neither torch nor mmdet.
"""

__version__ = "0.1.0"

from wt_mmdet.evaluate import test  # noqa: E402
from wt_mmdet.fit import fit  # noqa: E402
from wt_mmdet.infer import Detector  # noqa: E402
from wt_mmdet.predict import predict  # noqa: E402

__all__ = ["Detector", "fit", "predict", "test"]
