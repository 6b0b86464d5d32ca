"""wt-eval: one evaluator for every framework's predictions: detect, classify, compare, calibrate; merge shards."""

from wt_core.cli import Commands, main_for, version_command

from wt_eval import __version__

COMMANDS: Commands = {
    "detect": "wt_eval.detect:detect",
    "classify": "wt_eval.classify:classify",
    "compare": "wt_eval.compare:compare",
    "calibrate": "wt_eval.calibrate:calibrate",
    "merge": "wt_core.shard_merge:merge",
    "version": version_command("wt-eval", __version__),
}

main = main_for("wt-eval", __doc__, COMMANDS)
