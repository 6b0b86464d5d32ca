"""wt-yolo: train and run Ultralytics YOLO detectors on WildTrain manifests."""

from wt_core.cli import main_for, version_command

from wt_yolo import __version__

COMMANDS = {
    "version": version_command("wt-yolo", __version__),
}

main = main_for("wt-yolo", __doc__, COMMANDS)
