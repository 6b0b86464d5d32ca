"""wt-mmdet: MMDetection fit, test and predict on WildTrain manifests, with no compile step.

`fit`, `test` and `predict` are the commands as typed functions; `Detector`
loads a run's model for use in Python; `ops_backend` is the pure-torch
`mmcv._ext`. Importing this package imports neither torch nor mmdet.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "fit":
        from wt_mmdet.fit import fit

        return fit
    if name == "test":
        from wt_mmdet.evaluate import test

        return test
    if name == "predict":
        from wt_mmdet.predict import predict

        return predict
    if name == "Detector":
        from wt_mmdet.infer import Detector

        return Detector
    raise AttributeError(name)
