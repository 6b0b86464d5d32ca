"""wt-yolo: Ultralytics YOLO fit, val, predict (sliced) and export on WildTrain manifests.

    from wt_yolo import fit, predict, SlicedPredictor

Everything is imported on first use, so `import wt_yolo` (and `wt-yolo --help`) stays light.
"""

from wt_core.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "Slicing": "wt_core.slicing",
    "UltralyticsArgs": "wt_yolo.args",
    "export": "wt_yolo.export",
    "fit": "wt_yolo.fit",
    "predict": "wt_yolo.predict",
    "val": "wt_yolo.val",
    "Detections": "wt_yolo.slicing",
    "SlicedPredictor": "wt_yolo.slicing",
    "stitch": "wt_yolo.slicing",
}
__all__ = ["__version__", *_LAZY]
__getattr__ = lazy_attributes(__name__, _LAZY)
