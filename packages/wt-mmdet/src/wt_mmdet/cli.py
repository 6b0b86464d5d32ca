"""wt-mmdet: train and run MMDetection detectors on WildTrain manifests."""

from wt_core.cli import main_for, version_command

from wt_mmdet import __version__
from wt_mmdet.evaluate import test
from wt_mmdet.fit import fit
from wt_mmdet.predict import predict

COMMANDS = {
    "fit": fit,
    "test": test,
    "predict": predict,
    "version": version_command("wt-mmdet", __version__),
}

main = main_for("wt-mmdet", __doc__, COMMANDS)
