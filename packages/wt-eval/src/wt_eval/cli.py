"""wt-eval: one evaluator for every framework's predictions."""

from wt_core.cli import main_for, version_command

from wt_eval import __version__

COMMANDS = {
    "version": version_command("wt-eval", __version__),
}

main = main_for("wt-eval", __doc__, COMMANDS)
