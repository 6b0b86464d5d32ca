"""wt-cls: train and run Lightning + timm image classifiers on WildTrain manifests (fit, validate, test, predict, export)."""

from wt_core.cli import Commands, main_for, version_command

from wt_cls import __version__

COMMANDS: Commands = {
    "fit": "wt_cls.fit:fit",
    "validate": "wt_cls.evaluate:validate",
    "test": "wt_cls.evaluate:test",
    "predict": "wt_cls.predict:predict",
    "export": "wt_cls.export:export",
    "version": version_command("wt-cls", __version__),
}

main = main_for("wt-cls", __doc__, COMMANDS)
