"""wt-cls: train and run Lightning + timm image classifiers on WildTrain manifests."""

from wt_core.cli import main_for, version_command

from wt_cls import __version__

COMMANDS = {
    "version": version_command("wt-cls", __version__),
}

main = main_for("wt-cls", __doc__, COMMANDS)
