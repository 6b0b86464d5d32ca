"""wt-eval: one evaluator for every framework's predictions: detect, classify, compare, calibrate."""

from __future__ import annotations

import json
import sys

from wt_core.cli import run_tool, version_command

from wt_eval import __version__

COMMANDS = {
    "detect": "wt_eval.detect:detect",
    "classify": "wt_eval.classify:classify",
    "compare": "wt_eval.compare:compare",
    "calibrate": "wt_eval.calibrate:calibrate",
    "version": version_command("wt-eval", __version__),
}
LIST_OPTIONS = ("--evaluations", "--columns", "--nms_ious")


def gather_lists(argv: list[str]) -> list[str]:
    """Let list options take several words: `--evaluations a b c` means `--evaluations '["a","b","c"]'`."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        out.append(arg)
        i += 1
        if arg in LIST_OPTIONS:
            items = []
            while i < len(argv) and not argv[i].startswith("--"):
                items.append(argv[i])
                i += 1
            if len(items) == 1 and items[0].startswith("["):
                out.append(items[0])
            else:
                out.append(json.dumps(items))
    return out


def main() -> None:
    sys.exit(run_tool("wt-eval", __doc__, COMMANDS, gather_lists(sys.argv[1:])))
