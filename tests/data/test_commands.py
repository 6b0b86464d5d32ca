"""stats, remap, merge, metadata at import, and piping one command into the next."""

from __future__ import annotations

import json

from data_helpers import coco_of, imported, wt_data
from helpers import assert_bad_input, manifest_of, run_cli


def test_stats_json_and_plots(aerial, aerial_ds, tmp_path):
    truth = json.loads((aerial / "truth.json").read_text())
    proc = wt_data("stats", "--dataset", aerial_ds, "--json", "--plots", tmp_path / "plots", check=True)
    doc = json.loads(proc.stdout)
    s = doc["splits"]["all"]
    assert s["images"] == 8 and s["boxes"] == sum(len(r["boxes"]) for r in truth["images"])
    assert s["empty_images"] == 1
    sides = [(b["bbox"][2] * b["bbox"][3]) ** 0.5 for r in truth["images"] for b in r["boxes"]]
    assert abs(s["box_size_px"]["min"] - min(sides)) < 0.01 and abs(s["box_size_px"]["max"] - max(sides)) < 0.01
    assert s["classes"]["zebra"]["box_size_px"]["median"] < s["classes"]["elephant"]["box_size_px"]["median"]
    assert (tmp_path / "plots" / "stats_all.png").stat().st_size > 1000
    table = wt_data("stats", "--dataset", aerial_ds, check=True)
    assert table.stdout == "" and "elephant" in table.stderr


def test_remap_merges_and_drops_with_counts(aerial_ds, tmp_path):
    m, d = imported("remap", "--dataset", aerial_ds, "--classes.map", "[giraffe=animal, zebra=animal]",
                    "--classes.drop", "[elephant]", "--out", tmp_path / "r")
    src = json.loads((aerial_ds / "manifest.json").read_text())
    assert m["classes"] == ["animal"]
    assert m["splits"]["all"]["per_class"] == [sum(src["splits"]["all"]["per_class"][1:])]
    assert m["report"]["dropped_by_mapping"] == src["splits"]["all"]["per_class"][0]
    assert m["splits"]["all"]["images"] == 8  # detection images stay, now maybe empty


def test_merge_refuses_class_conflicts_unless_mapped(aerial_ds, tmp_path):
    imported("remap", "--dataset", aerial_ds, "--classes.map", "[zebra=Zebra]", "--out", tmp_path / "r")
    proc = wt_data("merge", "--datasets", f"[{aerial_ds}, {tmp_path / 'r'}]", "--out", tmp_path / "m")
    assert_bad_input(proc, "'zebra' and 'Zebra' look like one class", "(classes.map)")
    m, d = imported("merge", "--datasets", f"[{aerial_ds}, {tmp_path / 'r'}]", "--classes.map", "[Zebra=zebra]",
                    "--out", tmp_path / "m")
    assert m["classes"] == ["elephant", "giraffe", "zebra"]
    assert m["report"]["duplicate_images_dropped"] == 8  # the same images twice are kept once
    assert len(m["parents"]) == 2


def test_metadata_from_csv_and_pattern_feed_a_grouped_split(aerial, tmp_path):
    m, d = imported("import", "--source", aerial / "voc", "--format", "voc", "--meta.csv", aerial / "metadata.csv",
                    "--meta.pattern", r"survey_(?P<number>\d+)", "--out", tmp_path / "v")
    im = coco_of(d)["images"][0]
    assert im["site"] == "site0" and im["flight"] == "site0-f0" and im["number"] == "000"
    s, sd = imported("split", "--dataset", d, "--group_by", "flight", "--out", tmp_path / "s")
    flights = [{i["flight"] for i in coco_of(sd, n)["images"]} for n in s["splits"]]
    assert sum(len(f) for f in flights) == len(set().union(*flights))


def test_split_without_the_metadata_is_refused(camtrap, tmp_path):
    _, d = imported("import", "--source", camtrap, "--format", "imagefolder", "--out", tmp_path / "c")
    proc = wt_data("split", "--dataset", d, "--group_by", "site", "--out", tmp_path / "s")
    assert_bad_input(proc, "has no 'site' metadata", "images[0].site")


def test_pipeline_through_stdin(aerial, tmp_path):
    first = wt_data("import", "--source", aerial / "coco.json", "--check", "header", "--out", tmp_path / "a", check=True)
    second = run_cli("wt-data", "split", "--dataset", "-", "--group_by", "site", "--out", tmp_path / "b",
                     stdin=first.stdout, check=True)
    m = manifest_of(second)
    assert m["parents"][0]["id"] == manifest_of(first)["id"]
