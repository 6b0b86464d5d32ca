"""wt-mmdet: train and run MMDetection detectors on WildTrain manifests."""

from wt_core.cli import Commands, main_for, version_command

from wt_mmdet import __version__

COMMANDS: Commands = {
    "fit": "wt_mmdet.fit:fit",
    "test": "wt_mmdet.evaluate:test",
    "predict": "wt_mmdet.predict:predict",
    "version": version_command("wt-mmdet", __version__),
}

main = main_for("wt-mmdet", __doc__, COMMANDS)
