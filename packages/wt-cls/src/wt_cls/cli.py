"""wt-cls: train and run Lightning + timm image classifiers on WildTrain manifests (fit, validate, test, predict, export)."""

from wt_core.cli import main_for, version_command

from wt_cls import __version__
from wt_cls.evaluate import test, validate
from wt_cls.export import export
from wt_cls.fit import fit
from wt_cls.predict import predict

COMMANDS = {
    "fit": fit,
    "validate": validate,
    "test": test,
    "predict": predict,
    "export": export,
    "version": version_command("wt-cls", __version__),
}

main = main_for("wt-cls", __doc__, COMMANDS)
