"""wt-eval: one evaluator for every framework's predictions: detect, classify, compare, calibrate."""

from wt_core.cli import main_for, version_command

from wt_eval import __version__
from wt_eval.detect import detect

COMMANDS = {
    "detect": detect,
    "version": version_command("wt-eval", __version__),
}

main = main_for("wt-eval", __doc__, COMMANDS)
