"""The rename table keeps its promises: an old spelling is removed in the release its deprecation names."""

from __future__ import annotations

from importlib.metadata import version

from wt_core.renames import DEPRECATIONS, RENAMED, _release, deprecation_of, overdue


def test_no_deprecation_outlives_its_release():
    late = overdue(version("wt-core"))
    assert not late, "remove these old spellings (wt_core.renames.DEPRECATIONS, docs, CHANGELOG):\n" + "\n".join(late)


def test_every_rename_names_its_releases():
    current = _release(version("wt-core"))
    for tool, commands in RENAMED.items():
        for command, renames in commands.items():
            for old in renames:
                dep = deprecation_of(tool, command, old)
                assert dep is not None, f"{tool} {command} --{old}"
                assert _release(dep.deprecated_in) <= current, f"{tool} {command} --{old}: not released yet"
                assert _release(dep.deprecated_in) < _release(dep.removed_in)


def test_the_check_fails_once_the_removal_release_comes():
    removal = min(d.removed_in for d in DEPRECATIONS)
    assert overdue(removal), "a package at the removal release must report the old spellings"
    assert "wt-yolo fit --data (deprecated in 0.1.0, to be removed in 0.3.0)" in overdue("0.3.0")
    assert overdue("0.2.9") == []
