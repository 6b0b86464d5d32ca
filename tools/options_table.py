"""The table of every command's options in docs/contract.md, made from the commands' own parsers.

    python tools/options_table.py           # rewrite the table in docs/contract.md
    python tools/options_table.py --check   # exit 1 when the table differs from the parsers

The shared options and their meanings are listed here (`MEANINGS`); which commands take
each one, every command's other options and the old spellings still accepted
(`wt_core.renames.RENAMED`) are read from the parsers, so the table cannot drift from the
code (tests/core/test_vocabulary.py runs the check).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

TOOLS = ("wt-data", "wt-yolo", "wt-mmdet", "wt-cls", "wt-eval", "wt-tune", "wt-registry")
DOC = Path(__file__).resolve().parents[1] / "docs" / "contract.md"
BEGIN = "<!-- options table: made by tools/options_table.py from the parsers; do not edit by hand -->"
END = "<!-- end of options table -->"
EVERY_COMMAND = ("help", "config", "print_config", "verbose", "quiet")

# One spelling per meaning, in the order the table lists them.
MEANINGS = {
    "dataset": "a dataset manifest (a manifest.json, its directory, or `-` to read the path from stdin)",
    "datasets": "several dataset manifests",
    "run": "a run manifest (wt-cls also takes a .ckpt file)",
    "predictions": "a predictions manifest",
    "evaluations": "several evaluation manifests",
    "images": "a folder of images, instead of a dataset split",
    "split": "one split of a dataset",
    "splits": "several splits of a dataset (default: the command's choice)",
    "conf": "minimum score of a box (a detector's threshold; wt-eval detect: the threshold of P/R/F1 and counts)",
    "iou": "IoU threshold (a detector's NMS; wt-eval: the IoU at which a detection matches a true box)",
    "max_det": "maximum boxes per image",
    "imgsz": "the network's input size in pixels",
    "batch": "images (tiles, crops) per forward pass",
    "workers": "parallel workers (processes, or data loader workers)",
    "device": "where to compute: cpu, cuda, cuda:N or N (auto or none: the library picks)",
    "slicing": "sliced prediction (wt_core.slicing.Slicing): `tile`, `overlap`, `batch`, and the merge across "
               "tiles `merge` (nms or greedy), `merge_iou`, `merge_metric` (ios or iou); `block`: rasters longer "
               "on a side are predicted as blocks, units of the job (wt_core.blocks)",
    "train": "what every trainer has (wt_core.train_args.TrainArgs): `epochs`, `batch`, `workers`, `imgsz`, `lr`, "
             "`seed`, `patience`, `freeze`, `split`, `val_split`; each fit's own section passes the rest through",
    "select": "the metric that picks the best weights: `metric`, `mode` (detectors: also `every`, `conf`, "
              "`count_conf`, `max_det` of the whole-image validation)",
    "classes": "class list changes: `map`, `drop`, `order`",
    "seed": "random seed",
    "plots": "write PNG plots",
    "json": "print one JSON document on stdout instead of a table on stderr",
    "experiment": "the MLflow experiment",
    "out": "the output directory (default runs/<tool>/<command>/<id>)",
    "overwrite": "replace an existing output directory",
    "resume": "continue the unfinished output at --out",
    "shard": "`i/N`: predict share i of N (0-based) of the images, for an array job (joined by `wt-eval merge`)",
    "part_size": "images per committed part of streamed results (a kill loses at most one part)",
    "geo": "map files of the boxes on georeferenced rasters, in each raster's CRS: geojson, gpkg or none "
           "(default: geojson where a raster has a CRS)",
    "dask": "run the job's shards as Dask tasks: `scheduler` (address) or `cluster` (a dask-jobqueue spec "
            "file), `tasks`, `gpus`",
}


def commands_of(tool: str) -> tuple[str, dict]:
    mod = importlib.import_module("wt_" + tool.removeprefix("wt-") + ".cli")
    return mod.__doc__ or "", mod.COMMANDS


def parsers(tool: str) -> dict:
    """Command name to its jsonargparse parser, as `wt-<tool>` builds them."""
    from wt_core.parser import build_parser

    doc, commands = commands_of(tool)
    parser = build_parser(tool, doc, commands)
    return dict(parser._subcommands_action._name_parser_map)  # type: ignore[union-attr]


def option_keys(sub) -> list[str]:
    """The command's option keys, without the ones every command has and without list appends (`key+`)."""
    keys: list[str] = []
    for action in sub._actions:
        for opt in action.option_strings:
            key = opt[2:]
            if opt.startswith("--") and key not in EVERY_COMMAND and not key.endswith("+") and key not in keys:
                keys.append(key)
    return keys


def all_options() -> dict[str, list[str]]:
    """'tool command' to its option keys (the version commands left out)."""
    out: dict[str, list[str]] = {}
    for tool in TOOLS:
        for name, sub in parsers(tool).items():
            if name != "version":
                out[f"{tool} {name}"] = option_keys(sub)
    return out


def _short(keys: list[str]) -> list[str]:
    """Top-level options, a section as `--section.*`."""
    out: list[str] = []
    for key in keys:
        top = key.split(".")[0]
        item = f"`--{top}.*`" if any(k.startswith(top + ".") for k in keys) else f"`--{key}`"
        if item not in out:
            out.append(item)
    return out


def _commands_list(names: list[str]) -> str:
    by_tool: dict[str, list[str]] = {}
    for name in names:
        tool, command = name.split(" ", 1)
        by_tool.setdefault(tool, []).append(command)
    return "; ".join(f"{tool} {', '.join(cmds)}" for tool, cmds in by_tool.items())


def table(options: dict[str, list[str]]) -> str:
    from wt_core.renames import RENAMED

    tops = {name: {k.split(".")[0] for k in keys} for name, keys in options.items()}
    lines = [BEGIN, "", "### Shared options, by meaning", "",
             "Every command also takes `--config`, `--print_config`, `--verbose`, `--quiet` and `--help`.", "",
             "| option | meaning | commands |", "|---|---|---|"]
    for key, meaning in MEANINGS.items():
        users = [name for name in options if key in tops[name]]
        shown = f"`--{key}.*`" if any("." in k and k.startswith(key + ".") for n in users for k in options[n]) \
            else f"`--{key}`"
        lines.append(f"| {shown} | {meaning} | {_commands_list(users) or '-'} |")
    lines += ["", "### Every command's options", "",
              "Shared options first (as above), then the command's own; `--section.*` is a section of keys.", "",
              "| command | shared | its own |", "|---|---|---|"]
    for name, keys in options.items():
        shared = [k for k in MEANINGS if k in tops[name]]
        own = [k for k in keys if k.split(".")[0] not in MEANINGS]
        lines.append(f"| `{name}` | {', '.join(_short([k for k in keys if k.split('.')[0] in shared])) or '-'} | "
                     f"{', '.join(_short(own)) or '-'} |")
    lines += ["", "### Old spellings", "",
              "Accepted for one release after 0.1, on the command line and in `--config` files, with one line "
              "`warning: --OLD is deprecated, use --NEW` on stderr (`wt_core.renames.RENAMED`; a rename applies "
              "only where the new key is an option of the command and the old one is not).", "",
              "| command | old | new |", "|---|---|---|"]
    for tool, commands in RENAMED.items():
        for command, renames in commands.items():
            for old, new in renames.items():
                lines.append(f"| `{tool} {command}` | `--{old}` | `--{new}` |")
    lines += ["", END]
    return "\n".join(lines)


def updated(text: str, new_table: str) -> str:
    """The document with its table replaced (appended as a new section when it has none)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + new_table + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n## 8. Options: one vocabulary\n\n" + new_table + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/contract.md is not in sync")
    args = ap.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    new = updated(text, table(all_options()))
    if args.check:
        if new != text:
            print(f"{DOC} is out of sync with the parsers: run python tools/options_table.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    print(DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
