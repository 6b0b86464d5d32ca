"""Every score threshold, IoU, fraction, overlap and ratio of every command is checked one way.

The options are read from the commands' own parsers (as tools/options_table.py reads them): an
option named like a threshold or a fraction must declare its range as a type (wt_core.ranges),
and each declared range refuses a value beyond either end with exit 2 and one line
`error: --KEY must be in [A, B]; got V (TOOL, KEY)`.
"""

from __future__ import annotations

import math
import re

import pytest
from helpers import call_cli, run_cli
from options_table import TOOLS, parsers
from wt_core.errors import BadInput
from wt_core.parser import declared_type
from wt_core.ranges import OpenUnit, PositiveUnit, UnitInterval, check, ranges_in

# A key whose last part reads as a threshold, an IoU, a fraction, an overlap or a ratio.
RANGE_LIKE = re.compile(r"(^|_)(conf|iou|ious|overlap|fraction|ratio|margin|visibility|smoothing|dropout)$")
# Sections passed through to a framework, which checks its own keys.
PASS_THROUGH = ("ultralytics.", "trainer.", "cfg_options")


def _options() -> list[tuple[str, str, str, object]]:
    found = []
    for tool in TOOLS:
        for command, sub in parsers(tool).items():
            keys = dict.fromkeys(a.dest for a in sub._actions if a.option_strings)
            found += [(tool, command, key, hint) for key in keys if (hint := declared_type(sub, key)) is not None]
    return found


OPTIONS = _options()
RANGED = [(t, c, k, ranges_in(h)[0], "list" in str(h)) for t, c, k, h in OPTIONS if ranges_in(h)]


def _beyond(cls) -> list[float]:
    """A value just outside each end of a range (an open end: the end itself)."""
    values = [cls.low if cls.low_open else cls.low - 0.5]
    if cls.high != math.inf:
        values.append(cls.high if cls.high_open else cls.high + 0.5)
    return values


def test_every_threshold_fraction_and_ratio_declares_its_range():
    missing = [f"{t} {c} --{k}" for t, c, k, h in OPTIONS
               if RANGE_LIKE.search(k.split(".")[-1]) and not k.startswith(PASS_THROUGH) and not ranges_in(h)
               and k not in ("ratios",)]  # wt-data split --ratios: weights, checked with their sum
    assert not missing, "declare these with a type of wt_core.ranges:\n" + "\n".join(missing)
    assert len(RANGED) >= 40  # every conf, iou, slicing.overlap ... of the seven tools (45 today)


@pytest.mark.parametrize(("tool", "command", "key", "cls", "is_list"), RANGED,
                         ids=[f"{t}-{c}-{k}" for t, c, k, _, _ in RANGED])
def test_an_out_of_range_value_is_refused_with_one_line(tool, command, key, cls, is_list):
    for bad in _beyond(cls):
        value = f"[{bad:g}]" if is_list else f"{bad:g}"
        proc = call_cli(tool, command, f"--{key}", value)
        assert proc.returncode == 2, (value, proc.stderr)
        assert proc.stderr.splitlines() == [f"error: --{key} must be {cls.interval()}; got {bad:g} ({tool}, {key})"]
        assert proc.stdout == ""


def test_the_labelstudio_export_refuses_a_score_above_one():
    """Was accepted (issue 24); the command line's exit status and stderr are the contract."""
    proc = run_cli("wt-data", "export", "--dataset", "d", "--format", "labelstudio", "--conf", "1.5")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: --conf must be in [0, 1]; got 1.5 (wt-data, conf)"]


def test_a_word_where_a_number_goes_names_the_range():
    proc = call_cli("wt-eval", "detect", "--iou", "high")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["error: --iou expects a number in (0, 1]; got 'high' (wt-eval, iou)"]


def test_the_python_api_checks_the_same_ranges():
    """`from wt_eval import detect; detect(..., conf=1.5)` is refused as the command line refuses it."""
    import wt_eval
    from wt_core.slicing import Slicing

    with pytest.raises(BadInput) as err:
        wt_eval.detect("d", "p", conf=1.5)
    assert err.value.line() == "error: --conf must be in [0, 1]; got 1.5 (conf)"
    with pytest.raises(BadInput) as err:
        Slicing(overlap=1.0)
    assert err.value.line() == "error: --slicing.overlap must be in [0, 1); got 1.0 (slicing.overlap)"


@pytest.mark.parametrize(("cls", "inside", "outside"), [
    (UnitInterval, [0, 0.5, 1], [-0.01, 1.01, math.nan]),
    (PositiveUnit, [1e-9, 1], [0, 1.5]),
    (OpenUnit, [0.5], [0, 1]),
])
def test_range_ends(cls, inside, outside):
    for v in inside:
        check(v, cls, "x")
    for v in outside:
        with pytest.raises(BadInput):
            check(v, cls, "x")
