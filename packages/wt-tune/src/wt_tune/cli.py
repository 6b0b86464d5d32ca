"""wt-tune: Optuna studies over any WildTrain tool's config."""

from wt_core.cli import main_for, version_command

from wt_tune import __version__

COMMANDS = {
    "version": version_command("wt-tune", __version__),
}

main = main_for("wt-tune", __doc__, COMMANDS)
