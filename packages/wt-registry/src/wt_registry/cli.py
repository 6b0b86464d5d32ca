"""wt-registry: the MLflow model registry for WildTrain models."""

from wt_core.cli import main_for, version_command

from wt_registry import __version__

COMMANDS = {
    "version": version_command("wt-registry", __version__),
}

main = main_for("wt-registry", __doc__, COMMANDS)
