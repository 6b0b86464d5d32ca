"""wt-yolo: train and run Ultralytics YOLO detectors on WildTrain manifests: fit, val, predict (sliced), export, mine (hard negatives)."""

from wt_core.cli import Commands, main_for, version_command

from wt_yolo import __version__

COMMANDS: Commands = {
    "fit": "wt_yolo.fit:fit",
    "val": "wt_yolo.val:val",
    "predict": "wt_yolo.predict:predict",
    "export": "wt_yolo.export:export",
    "mine": "wt_yolo.stages:mine",
    "version": version_command("wt-yolo", __version__),
}

main = main_for("wt-yolo", __doc__, COMMANDS)
