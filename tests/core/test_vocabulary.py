"""One vocabulary across the seven tools: every command's parser is checked for replaced spellings,
the old spellings are read as the new ones with one warning line, and the table in docs/contract.md
is the one the parsers make."""

from __future__ import annotations

import importlib
import json
import typing
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
import yaml
from helpers import call_cli, run_cli
from wt_core.argv import normalize
from wt_core.parser import SWITCHES, build_parser
from wt_core.renames import RENAMED
from wt_core.slicing import Slicing

TOOLS = ("wt-data", "wt-yolo", "wt-mmdet", "wt-cls", "wt-eval", "wt-tune", "wt-registry")
# A replaced spelling (any part of a key) and the one to use.
REPLACED = {"score": "conf", "score_thr": "conf", "thresholds": "conf, iou, max_det", "max_dets": "max_det",
            "accelerator": "device", "batch_size": "batch", "num_workers": "workers", "max_epochs": "train.epochs",
            "input_size": "train.imgsz", "lr0": "train.lr", "frozen_stages": "train.freeze",
            "freeze_backbone": "train.freeze", "train_split": "train.split", "monitor": "select.metric"}
# What every trainer has, in one section of every fit (wt_core.train_args.TrainArgs) ...
SHARED_FIT = {"epochs", "batch", "workers", "imgsz", "lr", "seed", "patience", "freeze", "split", "val_split"}
FITS = (("wt-yolo", "fit"), ("wt-mmdet", "fit"), ("wt-cls", "fit"))
# Keys that are only ever top-level options: `--ultralytics.device` is `--device`, a `merge` section is `--slicing`.
TOP_LEVEL_ONLY = ("device", "dataset")


def commands(tool: str) -> dict:
    return importlib.import_module("wt_" + tool.removeprefix("wt-") + ".cli").COMMANDS


_PARSERS: dict = {}


def parser_of(tool: str):
    if tool not in _PARSERS:
        mod = importlib.import_module("wt_" + tool.removeprefix("wt-") + ".cli")
        _PARSERS[tool] = build_parser(tool, mod.__doc__, mod.COMMANDS)
    return _PARSERS[tool]


def sub_of(tool: str, command: str):
    return parser_of(tool)._subcommands_action._name_parser_map[command]


def keys_of(tool: str, command: str) -> dict[str, object]:
    """Option key (without --) to its type hint."""
    return {o[2:]: getattr(a, "_typehint", None) for a in sub_of(tool, command)._actions
            for o in a.option_strings if o.startswith("--") and not o.endswith("+")}


def all_commands() -> list:
    return [pytest.param(tool, name, id=f"{tool} {name}") for tool in TOOLS for name in commands(tool)
            if name != "version"]


@pytest.mark.parametrize(("tool", "command"), all_commands())
def test_no_command_uses_a_replaced_spelling(tool, command):
    wrong = []
    for key in keys_of(tool, command):
        parts = key.split(".")
        for part in parts:
            if part in REPLACED:
                wrong.append(f"--{key} (use {REPLACED[part]})")
        if command == "fit" and len(parts) == 2 and parts[0] != "train" and parts[1] in SHARED_FIT:
            wrong.append(f"--{key} (use --train.{parts[1]})")
        if len(parts) > 1 and parts[-1] in TOP_LEVEL_ONLY:
            wrong.append(f"--{key} (use --{parts[-1]})")
        if parts[0] == "data":
            wrong.append(f"--{key} (a dataset manifest is --dataset; a loader section has another name)")
        if parts[0] == "merge" and len(parts) > 1:
            wrong.append(f"--{key} (the merge across tiles is --slicing.merge*)")
    assert not wrong, f"{tool} {command}: " + "; ".join(wrong)


def _is_list(hint) -> bool:
    args = [a for a in typing.get_args(hint) if a is not type(None)] if typing.get_origin(hint) else [hint]
    return any(typing.get_origin(a) in (list, tuple) for a in args)


@pytest.mark.parametrize(("tool", "command"), all_commands())
def test_split_is_one_and_splits_are_several(tool, command):
    keys = keys_of(tool, command)
    if "split" in keys:
        assert not _is_list(keys["split"]), f"{tool} {command} --split takes one split"
    if "splits" in keys:
        assert _is_list(keys["splits"]), f"{tool} {command} --splits takes several"


@pytest.mark.parametrize(("tool", "command"), [("wt-yolo", "predict"), ("wt-yolo", "val"), ("wt-mmdet", "predict"),
                                               ("wt-eval", "detect"), ("wt-registry", "register")])
def test_detection_predictors_share_one_slicing_section(tool, command):
    keys = keys_of(tool, command)
    assert {k for k in keys if k.startswith("slicing.")} == {f"slicing.{f.name}" for f in fields(Slicing)}
    assert {"conf", "max_det"} <= set(keys)


@pytest.mark.parametrize(("tool", "command"), [pytest.param(*f, id=" ".join(f)) for f in FITS])
def test_every_fit_has_the_shared_sections(tool, command):
    """... and best weights are --select.metric/--select.mode in each; nothing of these elsewhere in a fit."""
    keys = keys_of(tool, command)
    assert {k.removeprefix("train.") for k in keys if k.startswith("train.")} == SHARED_FIT
    assert {"select.metric", "select.mode"} <= set(keys)
    assert not {"seed", "epochs", "batch", "workers", "imgsz"} & set(keys), "shared keys belong in --train.*"


def test_one_value_given_both_ways_is_refused():
    proc = run_cli("wt-yolo", "fit", "--dataset", "d", "--train.epochs", "5", "--ultralytics.epochs", "7",
                   "--print_config")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == ["error: --ultralytics.epochs and --train.epochs are one option "
                                        "(--ultralytics.epochs is its old spelling): give it once "
                                        "(train.epochs)"]


@pytest.mark.parametrize(("tool", "old", "new"), [("wt-yolo", "--ultralytics.epochs", "train.epochs"),
                                                  ("wt-mmdet", "--train.frozen_stages", "train.freeze"),
                                                  ("wt-cls", "--trainer.max_epochs", "train.epochs"),
                                                  ("wt-cls", "--checkpoint.monitor", "select.metric")])
def test_old_fit_spellings_still_work(tool, old, new):
    value = "val/acc" if new == "select.metric" else "3"
    proc = call_cli(tool, "fit", "--dataset", "d", old, value, "--print_config")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [f"warning: {old} is deprecated, use --{new}"]
    section, key = new.split(".")
    assert str(yaml.safe_load(proc.stdout)[section][key]) == value


def test_the_pass_through_refuses_a_key_the_shared_section_owns():
    from wt_core.errors import BadInput
    from wt_mmdet.config import check_cfg_options

    with pytest.raises(BadInput, match="set by --train.epochs") as e:
        check_cfg_options({}, {"train_cfg.max_epochs": 7})
    assert e.value.field == "cfg_options.train_cfg.max_epochs"


def test_every_rename_points_at_a_real_option():
    """Each entry of the table names a command that exists; where that command is renamed, the new key is its
    option and the old one is not."""
    for tool, table in RENAMED.items():
        for command, renames in table.items():
            assert command in commands(tool), f"{tool} has no command {command}"
            keys = set(keys_of(tool, command))
            for old, new in renames.items():
                old_key, new_key = old.removesuffix(".*"), new.removesuffix(".*")
                assert new_key in keys and old_key not in keys, f"{tool} {command}: --{old} -> --{new}"


def test_the_contract_table_is_the_one_the_parsers_make():
    import options_table

    assert options_table.main(["--check"]) == 0, "run: python tools/options_table.py"



@pytest.mark.parametrize(("tool", "command"), [pytest.param(t, c, id=f"{t} {c}") for t in TOOLS for c in commands(t)])
def test_quiet_and_verbose_are_the_same_switches_in_every_command(tool, command):
    """--quiet and --verbose are wt-core's two flags in every command of every tool (no command has a
    parameter or a section of its own under either name)."""
    options = {o[2:]: a for a in sub_of(tool, command)._actions for o in a.option_strings if o.startswith("--")}
    for switch, text in SWITCHES.items():
        action = options.get(switch)
        assert action is not None, f"{tool} {command} has no --{switch}"
        assert (action.default, action.help, getattr(action, "_typehint", None)) == (False, text, bool), \
            f"{tool} {command} --{switch}: {action.default!r}, {action.help!r}"
        assert not [k for k in options if k.startswith(f"{switch}.")], f"{tool} {command}: a --{switch}.* section"


# one command of each tool that first reads a manifest, given one that is not there (an error after the switches
# are read): the same one line with or without --quiet, a traceback above it with --verbose, whatever the tool
MISSING = "/nonexistent/wildtrain/manifest.json"
FIRST_READS = {"wt-data": ["stats", "--dataset", MISSING], "wt-yolo": ["val", "--run", MISSING, "--dataset", MISSING],
               "wt-mmdet": ["test", "--run", MISSING, "--dataset", MISSING], "wt-cls": ["validate", "--run", MISSING],
               "wt-eval": ["compare", "--evaluations", MISSING], "wt-tune": ["show", "--study", MISSING],
               "wt-registry": ["lineage", "--model", MISSING]}


@pytest.mark.parametrize("tool", TOOLS)
def test_quiet_and_verbose_do_the_same_in_every_tool(tool):
    argv = FIRST_READS[tool]
    plain, quiet, loud, both = (call_cli(tool, *argv, *extra) for extra in
                                ([], ["--quiet"], ["--verbose"], ["--quiet", "--verbose"]))
    for proc in (plain, quiet, loud, both):
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    line = plain.stderr.strip()
    assert line.startswith("error: ") and len(line.splitlines()) == 1, plain.stderr
    assert quiet.stderr.strip() == line
    for proc in (loud, both):  # --verbose outranks --quiet
        assert "Traceback" in proc.stderr and proc.stderr.strip().splitlines()[-1] == line, proc.stderr

# The mechanism, on a tool of its own: renamed commands, one not renamed yet, a loader section renamed.


@dataclass
class Loader:
    """A section."""

    batch: int = 8
    """Images per batch."""


def renamed_cmd(dataset: str, conf: float = 0.25, tags: list[str] | None = None,
                loader: Loader = Loader()) -> None:
    """A command on the new spellings."""


def old_cmd(data: str, score: float = 0.25) -> None:
    """A command not renamed yet."""


TOY = {"new": renamed_cmd, "old": old_cmd}
TOY_TABLE = {"toy": {"new": {"data": "dataset", "score": "conf", "labels": "tags", "data_loader.*": "loader.*"},
                     "old": {"data": "dataset", "score": "conf"}}}


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(RENAMED, "toy", TOY_TABLE["toy"])
    return build_parser("toy", "", TOY)


def test_old_spellings_become_the_new_ones_with_one_warning_each(toy, capsys):
    argv = ["new", "--data", "d", "--score=0.5", "--labels+", "a", "--data-loader.batch", "4", "--data", "again"]
    assert normalize("toy", toy, argv) == \
        ["new", "--dataset", "d", "--conf=0.5", "--tags+", '["a"]', "--loader.batch", "4", "--dataset", "again"]
    assert capsys.readouterr().err.splitlines() == [
        "warning: --data is deprecated, use --dataset", "warning: --score is deprecated, use --conf",
        "warning: --labels is deprecated, use --tags", "warning: --data-loader.batch is deprecated, use --loader.batch"]


def test_a_command_not_renamed_keeps_its_options_silently(toy, capsys):
    argv = ["old", "--data", "d", "--score", "0.5"]
    assert normalize("toy", toy, argv) == argv
    assert normalize("other-tool", toy, ["new", "--data", "d"]) == ["new", "--data", "d"]
    assert capsys.readouterr().err == ""


def test_old_keys_in_a_config_file_are_renamed(toy, tmp_path, capsys):
    import yaml

    cfg = tmp_path / "old.yaml"
    cfg.write_text("data: d\nscore: 0.4\ndata_loader:\n  batch: 8\n")
    argv = normalize("toy", toy, ["new", "--config", str(cfg)])
    assert argv[:2] == ["new", "--config"] and yaml.safe_load(argv[2]) == {"dataset": "d", "conf": 0.4,
                                                                          "loader": {"batch": 8}}
    assert "warning: --score is deprecated, use --conf (in " in capsys.readouterr().err
    new = tmp_path / "new.yaml"
    new.write_text("dataset: d\n")
    assert normalize("toy", toy, ["new", f"--config={new}"]) == ["new", f"--config={new}"]


# The real tools, through their command lines (exit status and stderr are the contract).


def test_deprecated_options_are_accepted_with_a_warning_line():
    proc = run_cli("wt-eval", "detect", "--dataset", "d", "--predictions", "p", "--score", "0.4", "--max_dets", "50",
                   "--merge.method", "greedy", "--print_config")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == ["warning: --score is deprecated, use --conf",
                                        "warning: --max_dets is deprecated, use --max_det",
                                        "warning: --merge.method is deprecated, use --slicing.merge"]
    assert "conf: 0.4" in proc.stdout and "max_det: 50" in proc.stdout and "merge: greedy" in proc.stdout


def test_an_old_config_file_still_runs(tmp_path):
    """A config written for the old spellings runs, and the manifest records the new ones."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "eval"))
    from evalcases import coco, write_dataset, write_predictions

    classes = ["zebra"]
    gt = coco([{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
              [{"id": 1, "image_id": 1, "category_id": 0, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0}], classes)
    ds = write_dataset(tmp_path / "ds", classes, {"val": gt})
    pred = write_predictions(tmp_path / "p", ds, {"val": [{"image_id": 1, "category_id": 0, "bbox": [10, 10, 20, 20],
                                                          "score": 0.35}]})
    cfg = tmp_path / "old.yaml"
    cfg.write_text(f"dataset: {ds.path}\npredictions: {pred.path}\nscore: 0.4\nplots: false\n")
    proc = run_cli("wt-eval", "detect", "--config", cfg, "--out", tmp_path / "ev")
    assert proc.returncode == 0, proc.stderr
    assert f"warning: --score is deprecated, use --conf (in {cfg})" in proc.stderr.splitlines()
    m = json.loads(Path(proc.stdout.strip()).read_text())
    assert m["metrics"]["score_threshold"] == 0.4 and m["metrics"]["tp"] == 0  # 0.35 is below the old --score
    assert m["producer"]["config"]["conf"] == 0.4
