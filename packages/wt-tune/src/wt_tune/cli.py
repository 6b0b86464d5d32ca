"""wt-tune: Optuna studies over any WildTrain tool's config (run, show)."""

from wt_core.cli import Commands, main_for, version_command

from wt_tune import __version__

COMMANDS: Commands = {
    "run": "wt_tune.tuning:run",
    "show": "wt_tune.showing:show",
    "version": version_command("wt-tune", __version__),
}

main = main_for("wt-tune", __doc__, COMMANDS)
