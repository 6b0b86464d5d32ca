"""wt-yolo: train and run Ultralytics YOLO detectors on WildTrain manifests: fit, val, predict (sliced), export."""

from wt_core.cli import main_for, version_command

from wt_yolo import __version__
from wt_yolo.export import export
from wt_yolo.fit import fit
from wt_yolo.predict import predict
from wt_yolo.val import val

COMMANDS = {
    "fit": fit,
    "val": val,
    "predict": predict,
    "export": export,
    "version": version_command("wt-yolo", __version__),
}

main = main_for("wt-yolo", __doc__, COMMANDS)
