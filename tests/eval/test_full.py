"""wt-eval detect --on full: tile predictions back on the whole images, duplicates across edges merged."""

from __future__ import annotations

import json

import pytest
from evalcases import coco, one_image_dataset, write_dataset, write_predictions
from helpers import assert_bad_input, call_cli, manifest_of

CLASSES = ["zebra", "giraffe"]


@pytest.fixture
def cut_case(tmp_path):
    """One 200x100 image cut into tiles of 120 at x=0 and x=80; a zebra at x 50..100 is cut by the second tile."""
    full = one_image_dataset(tmp_path / "full", CLASSES, {"id": 7, "file_name": "survey.jpg", "width": 200,
                                                          "height": 100}, (0, [50, 40, 50, 20]), (1, [150, 10, 30, 30]))
    tiles = [{"id": 1, "file_name": "val/t0.jpg", "width": 120, "height": 100, "source_image": "survey.jpg",
              "source_id": 7, "offset": [0, 0]},
             {"id": 2, "file_name": "val/t1.jpg", "width": 120, "height": 100, "source_image": "survey.jpg",
              "source_id": 7, "offset": [80, 0]}]
    tile_anns = [{"id": 1, "image_id": 1, "category_id": 0, "bbox": [50, 40, 50, 20], "area": 1000, "iscrowd": 0},
                 {"id": 2, "image_id": 2, "category_id": 0, "bbox": [0, 40, 20, 20], "area": 400, "iscrowd": 0},
                 {"id": 3, "image_id": 2, "category_id": 1, "bbox": [70, 10, 30, 30], "area": 900, "iscrowd": 0}]
    tiled = write_dataset(tmp_path / "tiles", CLASSES, {"val": coco(tiles, tile_anns, CLASSES)}, parents=[full])
    preds = [{"image_id": 1, "category_id": 0, "bbox": [50, 40, 50, 20], "score": 0.9},   # the whole zebra
             {"image_id": 2, "category_id": 0, "bbox": [0, 40, 20, 20], "score": 0.8},    # its cut part
             {"image_id": 2, "category_id": 1, "bbox": [70, 10, 30, 30], "score": 0.7}]   # the giraffe
    pred = write_predictions(tmp_path / "pred", tiled, {"val": preds})
    return full, tiled, pred


@pytest.mark.parametrize("method", ["nms", "greedy"])
def test_an_animal_cut_by_a_tile_edge_counts_once(cut_case, method):
    full, tiled, pred = cut_case
    m = manifest_of(call_cli("wt-eval", "detect", "--dataset", tiled.path, "--predictions", pred.path,
                             "--on", "full", "--slicing.merge", method, "--plots", "false", check=True))
    assert m["dataset_id"] == full.id and m["details"]["on"] == "full" and m["details"]["tile_coverage"] == 1.0
    met = m["metrics"]
    assert met["count_predicted"] == 2 and met["count_true"] == 2 and met["count_mae"] == 0
    assert (met["tp"], met["fp"], met["fn"]) == (2, 0, 0)
    assert met["mAP50"] == pytest.approx(1.0)
    assert {p["kind"] for p in m["parents"]} == {"dataset", "predictions"} and len(m["parents"]) == 3


def test_without_the_smaller_box_overlap_the_cut_animal_is_counted_twice(cut_case):
    _, tiled, pred = cut_case
    # the part covers 20/50 of the zebra: IoU 0.4, so an IoU merge at 0.5 keeps both
    m = manifest_of(call_cli("wt-eval", "detect", "--dataset", tiled.path, "--predictions", pred.path,
                             "--on", "full", "--slicing.merge_metric", "iou", "--plots", "false", check=True))
    assert m["metrics"]["count_predicted"] == 3 and m["metrics"]["fp"] == 1


def test_on_full_needs_tiles(tmp_path):
    gt = coco([{"id": 0, "file_name": "a.jpg", "width": 10, "height": 10}], [], CLASSES)
    ds = write_dataset(tmp_path / "ds", CLASSES, {"val": gt})
    pred = write_predictions(tmp_path / "p", ds, {"val": []})
    assert_bad_input(call_cli("wt-eval", "detect", "--dataset", ds.path, "--predictions", pred.path, "--on", "full"),
                     "no parent dataset")


def test_real_tiles_from_wt_data(tmp_path):
    """wt-data import + tile on synthetic survey images; the tiles' own boxes as predictions recount the animals."""
    import synth

    synth.make_aerial(tmp_path / "raw", images=3, seed=5, width=700, height=500, sites=1, empty_every=99)
    full = tmp_path / "full"
    call_cli("wt-data", "import", "--source", tmp_path / "raw" / "coco.json", "--out", full, check=True)
    tiled = tmp_path / "tiled"
    call_cli("wt-data", "tile", "--dataset", full, "--size", "256", "--overlap", "0.25", "--empty_ratio", "0",
             "--out", tiled, check=True)  # empty tiles left out: the tiles cover part of the images
    tm = json.loads((tiled / "manifest.json").read_text())
    split = next(iter(tm["splits"]))
    tcoco = json.loads((tiled / tm["artifacts"][tm["splits"][split]["annotations"]]["path"]).read_text())
    rows = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9}
            for a in tcoco["annotations"]]
    from wt_core.manifest_io import read_manifest

    pred = write_predictions(tmp_path / "pred", read_manifest(tiled), {split: rows})
    fm = json.loads((full / "manifest.json").read_text())
    n_true = fm["splits"][split]["boxes"]
    assert len(rows) > n_true  # animals seen by several tiles
    proc = call_cli("wt-eval", "detect", "--dataset", tiled, "--predictions", pred.path, "--on", "full",
                    "--plots", "false", check=True)
    m = manifest_of(proc)
    assert 0 < m["details"]["tile_coverage"] < 1 and "the tiles cover" in proc.stderr
    met = m["metrics"]
    assert met["count_true"] == n_true
    assert abs(met["count_predicted"] - n_true) <= max(1, 0.05 * n_true)
    assert met["recall"] >= 0.95 and met["mAP50"] >= 0.9
