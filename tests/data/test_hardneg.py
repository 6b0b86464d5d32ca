"""hardneg: the empty tiles a model fired on become hard negatives, at a ratio to positive tiles.

The predictions are a predictions manifest of the tiled dataset, as `wt-yolo
predict` writes one (the model side is tested with a real run in
tests/yolo/test_stages.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_helpers import coco_of, imported, wt_data
from helpers import assert_bad_input
from wt_core.manifest import PredictionsManifest
from wt_core.manifest_io import build, read_manifest, write_manifest


@pytest.fixture(scope="module")
def pool(small_aerial, tmp_path_factory) -> Path:
    """The small aerial set tiled with every empty tile kept (the pool hard negatives are mined from)."""
    base = tmp_path_factory.mktemp("hardneg")
    _, ds = imported("import", "--source", small_aerial / "coco.json", "--out", base / "ds")
    _, tiles = imported("tile", "--dataset", ds, "--size", "256", "--empty_ratio", "null",
                        "--max_empty_per_image", "null", "--out", base / "pool")
    return tiles


def predictions_of(ds_dir: Path, rows: list[dict], out: Path, split: str = "all") -> Path:
    """A predictions manifest of `ds_dir`'s split holding these COCO results rows."""
    ds = read_manifest(ds_dir, "dataset")
    out.mkdir(parents=True)
    (out / "predictions").mkdir()
    (out / "predictions" / f"{split}.json").write_text(json.dumps(rows))
    from wt_core.manifest_io import make_artifact

    m = build(PredictionsManifest, id=out.name, parents=[ds], artifacts={
        f"predictions.{split}": make_artifact(out, f"predictions/{split}.json")}, task="detect",
        classes=list(ds.classes), dataset_id=ds.id, splits={split: f"predictions.{split}"})
    write_manifest(out, m)
    return out


def empties_and_positives(coco: dict) -> tuple[list[dict], list[dict]]:
    boxed = {a["image_id"] for a in coco["annotations"]}
    return [im for im in coco["images"] if im["id"] not in boxed], [im for im in coco["images"] if im["id"] in boxed]


def box(image_id: int, score: float) -> dict:
    return {"image_id": image_id, "category_id": 0, "bbox": [10, 10, 30, 20], "score": score}


def test_the_tile_the_model_fired_on_is_kept_as_a_hard_negative(pool, tmp_path):
    coco = coco_of(pool)
    empties, positives = empties_and_positives(coco)
    assert len(empties) >= 4 and positives
    rock, bush, faint = empties[0]["id"], empties[1]["id"], empties[2]["id"]
    rows = [box(rock, 0.9), box(rock, 0.3), box(bush, 0.6), box(faint, 0.05), box(positives[0]["id"], 0.99)]
    pred = predictions_of(pool, rows, tmp_path / "pred")
    m, d = imported("hardneg", "--dataset", pool, "--predictions", pred, "--split", "all", "--conf", "0.25",
                    "--ratio", "1.0", "--out", tmp_path / "mined")
    out = coco_of(d)
    kept = {im["id"]: im for im in out["images"]}
    assert kept[rock]["hard_negative_score"] == 0.9 and kept[bush]["hard_negative_score"] == 0.6
    assert faint not in kept  # below the score
    assert {p["id"] for p in positives} <= set(kept)  # every positive tile stays, with its boxes
    assert len(out["annotations"]) == len(coco["annotations"])
    assert set(kept) == {p["id"] for p in positives} | {rock, bush}
    hn = m["details"]["hard_negatives"]
    assert (hn["hard_negatives_found"], hn["hard_negatives_kept"], hn["tiles_positive"]) == (2, 2, len(positives))
    assert hn["empty_tiles"] == len(empties)
    assert m["details"]["tiling"]["size"] == 256  # still a tiled dataset: its whole images can be found
    assert [p["kind"] for p in m["parents"]] == ["dataset", "predictions"]
    # images are referenced, not copied: the tiles' own files
    assert (pool / m["splits"]["all"]["image_root"]).resolve() == (d / m["splits"]["all"]["image_root"]).resolve()


def test_ratio_keeps_the_most_confident_first(pool, tmp_path):
    coco = coco_of(pool)
    empties, positives = empties_and_positives(coco)
    scores = {im["id"]: 0.3 + 0.6 * k / len(empties) for k, im in enumerate(empties)}
    pred = predictions_of(pool, [box(i, s) for i, s in scores.items()], tmp_path / "pred")
    ratio = 1 / len(positives)  # one hard negative in all
    m, d = imported("hardneg", "--dataset", pool, "--predictions", pred, "--split", "all", "--ratio", str(ratio),
                    "--out", tmp_path / "mined")
    hard = [im for im in coco_of(d)["images"] if "hard_negative_score" in im]
    assert [im["id"] for im in hard] == [max(scores, key=scores.get)]
    assert m["details"]["hard_negatives"]["hard_negatives_found"] == len(empties)


def test_nothing_fired_is_an_honest_dataset_of_positives_with_a_message(pool, tmp_path):
    coco = coco_of(pool)
    empties, positives = empties_and_positives(coco)
    pred = predictions_of(pool, [box(empties[0]["id"], 0.2)], tmp_path / "pred")
    proc = wt_data("hardneg", "--dataset", pool, "--predictions", pred, "--split", "all", "--conf", "0.5",
                   "--out", tmp_path / "mined")
    assert proc.returncode == 0, proc.stderr
    assert "no hard negatives" in proc.stderr and f"none of the {len(empties)} empty" in proc.stderr
    m = json.loads(Path(proc.stdout.strip()).read_text())
    assert m["details"]["hard_negatives"]["hard_negatives_kept"] == 0
    assert m["splits"]["all"]["images"] == len(positives) and m["splits"]["all"]["empty_images"] == 0


def test_predictions_of_another_dataset_are_refused(pool, small_aerial, tmp_path):
    _, other = imported("import", "--source", small_aerial / "coco.json", "--out", tmp_path / "other")
    pred = predictions_of(other, [], tmp_path / "pred")
    line = assert_bad_input(wt_data("hardneg", "--dataset", pool, "--predictions", pred, "--split", "all",
                                    "--out", tmp_path / "mined"), "dataset_id")
    assert "not" in line
    assert not (tmp_path / "mined").exists()
    assert_bad_input(wt_data("hardneg", "--dataset", pool, "--predictions", pred, "--conf", "0",
                             "--out", tmp_path / "mined"), "conf")
