"""wt-yolo: Ultralytics YOLO fit, val, predict (sliced) and export on WildTrain manifests.

    from wt_yolo import fit, predict, SlicedPredictor
"""

__version__ = "0.1.0"

from wt_yolo.args import SliceArgs, UltralyticsArgs  # noqa: E402
from wt_yolo.export import export  # noqa: E402
from wt_yolo.fit import fit  # noqa: E402
from wt_yolo.predict import predict  # noqa: E402
from wt_yolo.slicing import Detections, SlicedPredictor, stitch  # noqa: E402
from wt_yolo.val import val  # noqa: E402

__all__ = ["Detections", "SliceArgs", "SlicedPredictor", "UltralyticsArgs", "export", "fit", "predict", "stitch", "val"]
