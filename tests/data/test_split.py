"""Split: grouped by site with no leaks, within one group of the target ratios, seeded."""

from __future__ import annotations

import json

from data_helpers import coco_of, imported
from hypothesis import given, settings
from hypothesis import strategies as st
from wt_data.splitting import assign_groups


def test_split_by_site_keeps_each_site_in_one_split(aerial_ds, tmp_path):
    m, d = imported("split", "--dataset", aerial_ds, "--group_by", "site", "--ratios", "[0.5, 0.25, 0.25]",
                    "--out", tmp_path / "s")
    sites = {name: {im["site"] for im in coco_of(d, name)["images"]} for name in m["splits"]}
    seen = [s for v in sites.values() for s in v]
    assert len(seen) == len(set(seen)) == 4
    assert sum(s["images"] for s in m["splits"].values()) == 8
    assert sum(s["boxes"] for s in m["splits"].values()) == json.loads((aerial_ds / "manifest.json").read_text())["splits"]["all"]["boxes"]
    assert m["parents"][0]["kind"] == "dataset"


def test_same_seed_same_split(aerial_ds, tmp_path):
    a, da = imported("split", "--dataset", aerial_ds, "--seed", "3", "--out", tmp_path / "a")
    b, db = imported("split", "--dataset", aerial_ds, "--seed", "3", "--out", tmp_path / "b")
    for name in a["splits"]:
        assert [i["file_name"] for i in coco_of(da, name)["images"]] == [i["file_name"] for i in coco_of(db, name)["images"]]


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 30), min_size=1, max_size=40),
       ratios=st.lists(st.floats(0.05, 1.0), min_size=2, max_size=4), seed=st.integers(0, 10),
       data=st.data())
def test_grouped_split_property(sizes, ratios, seed, data):
    groups = {f"g{i}": n for i, n in enumerate(sizes)}
    classes = {g: data.draw(st.lists(st.integers(0, n), min_size=3, max_size=3)) for g, n in groups.items()}
    total = sum(ratios)
    ratios = [r / total for r in ratios]
    where = assign_groups(groups, classes, ratios, seed)
    assert set(where) == set(groups)  # every group in exactly one split
    n = sum(sizes)
    for s, r in enumerate(ratios):
        got = sum(groups[g] for g, w in where.items() if w == s)
        assert abs(got - r * n) <= max(sizes) + 1e-9
