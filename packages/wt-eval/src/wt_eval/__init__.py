"""wt-eval: one evaluator for every framework's predictions.

    from wt_eval import detect
    evaluation = detect("runs/data/tile/ID", "runs/yolo/predict/ID", conf=0.3)
    evaluation.metrics["mAP50"], evaluation.path

`detect`, `classify`, `compare` and `calibrate` are the commands as functions
(the manifest a function returns is the one its command writes); they are
imported on first use, so `import wt_eval` stays light.
"""

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "detect": "wt_eval.detect",
    "classify": "wt_eval.classify",
    "compare": "wt_eval.compare",
    "calibrate": "wt_eval.calibrate",
    "evaluate_detection": "wt_eval.detection",
}
__all__ = ["__version__", *_LAZY]


__getattr__ = lazy_attributes(__name__, _LAZY)
