"""One search space over the shared `--train.*` names drives a study of wt-yolo and one of wt-cls, unchanged.

The space file is the same file for both studies (2 trials of 1 epoch each, tiny data); each trial's run
manifest records the values the study drew under the same keys, whichever framework trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import call_cli, manifest_of
from wt_tune.objective import TRIALS_DIR

pytest.importorskip("wt_yolo")
pytest.importorskip("wt_cls")

SPACE = {"train.lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
         "train.batch": {"type": "categorical", "choices": [4, 8]},
         "train.seed": {"type": "int", "low": 0, "high": 3}}
TARGETS = {
    "wt-yolo": ("--model yolo11n.yaml --train.epochs 1 --train.imgsz 160 --train.workers 0 --device cpu "
                "--ultralytics.plots false", "mAP50"),
    "wt-cls": ("--model.backbone test_efficientnet_gn --train.epochs 1 --train.imgsz 32 --train.workers 0 "
               "--trainer.progress_bar false", "acc"),
}


def _study(tmp_path: Path, tool: str, dataset: str, space_file: Path) -> dict:
    args, objective = TARGETS[tool]
    proc = call_cli("wt-tune", "run", "--config", space_file, "--target", f"{tool} fit --dataset {dataset} {args}",
                    "--objective", objective, "--n_trials", "2", "--pruner.name", "none", "--plots", "false",
                    "--track", "false", "--out", tmp_path / f"study-{tool}", check=True)
    return manifest_of(proc)


@pytest.mark.slow
def test_one_space_file_tunes_a_detector_and_a_classifier(tmp_path, aerial):
    import synth

    space_file = tmp_path / "space.yaml"
    space_file.write_text(yaml.safe_dump({"space": SPACE}))
    det = manifest_of(call_cli("wt-data", "import", "--source", aerial / "coco.json", "--format", "coco",
                               "--out", tmp_path / "aerial", check=True))
    det = manifest_of(call_cli("wt-data", "split", "--dataset", tmp_path / "aerial", "--ratios", "[0.75,0.25]",
                               "--names", "[train,val]", "--stratify", "false", "--out", tmp_path / "aerial-split",
                               check=True))
    synth.make_camtrap(tmp_path / "cam", per_class=6, seed=0, size=32)
    cam = manifest_of(call_cli("wt-data", "import", "--source", tmp_path / "cam", "--format", "imagefolder",
                               "--out", tmp_path / "cam-ds", check=True))
    for tool, ds_dir, ds in (("wt-yolo", tmp_path / "aerial-split", det), ("wt-cls", tmp_path / "cam-ds", cam)):
        study = _study(tmp_path, tool, str(ds_dir), space_file)
        assert study["details"]["states"] == {"COMPLETE": 2}, tool
        assert set(study["best_params"]) == set(SPACE)
        trials = [json.loads(p.read_text()) for p in sorted((tmp_path / f"study-{tool}").glob(f"{TRIALS_DIR}/*/manifest.json"))]
        assert len(trials) == 2, tool
        for m in trials:  # the same keys in the run's config, whichever framework trained
            train = m["producer"]["config"]["train"]
            assert 1e-3 <= train["lr"] <= 1e-2 and train["batch"] in (4, 8) and 0 <= train["seed"] <= 3
            assert m["dataset_id"] == ds["id"]
