"""Bad inputs wt-mmdet was tried with: each exits 2 with one line, before any training starts (and before
the training-defaults lines: every input is checked before the first of them).

The same table is in packages/wt-mmdet/README.md.
"""

from __future__ import annotations

import argparse

import pytest
from helpers import assert_bad_input, run_cli


@pytest.fixture(scope="module")
def classify_ds(tmp_path_factory, camtrap):
    out = tmp_path_factory.mktemp("mmdet-bad") / "cls"
    proc = run_cli("wt-data", "import", "--source", camtrap, "--format", "imagefolder", "--out", out, check=True)
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import torch

    d = tmp_path_factory.mktemp("mmdet-files")
    (d / "broken.py").write_text("model = dict(\n    type='RetinaNet',\n    backbone=dict(depth=18\n")
    torch.save({"state_dict": {}, "meta": argparse.Namespace(x=1)}, d / "foreign.pth")
    (d / "not_a_checkpoint.pth").write_text("hello")
    return d


CASES = {
    "unknown preset": (["--model", "retinanet_r18"], ["unknown model preset", "retinanet_r18_fpn"]),
    "config with a syntax error": (["--model", "{files}/broken.py"], ["syntax error", "broken.py"]),
    "missing config file": (["--model", "{files}/nope.py"], ["config file not found"]),
    "foreign checkpoint holding pickled objects": (["--load_from", "{files}/foreign.pth"],
                                                   ["pickled objects", "foreign.pth"]),
    "file that is no checkpoint": (["--load_from", "{files}/not_a_checkpoint.pth"],
                                   ["not a readable", "load_from)"]),
    "missing checkpoint": (["--load_from", "{files}/gone.pth"], ["checkpoint not found", "gone.pth, load_from)"]),
    "classify dataset": (["--dataset", "{classify}"], ["classify dataset"]),
    "missing dataset manifest": (["--dataset", "{files}/nowhere"], ["manifest not found"]),
    "unknown split": (["--train.val_split", "valid"], ["no split 'valid'"]),
    "AMP on a machine without GPU": (["--mmdet.amp", "true"], ["needs a GPU"]),
    "cfg_options key under a missing section": (["--cfg_options", '{{"model.nek.out_channels": 64}}'],
                                                ["no key 'model.nek'", "did you mean model.neck?"]),
    "mistyped option": (["--train.epocs", "2"], ["did you mean --train.epochs"]),
    "cfg_options key the shared section sets": (["--cfg_options", '{{"train_cfg.max_epochs": 7}}'],
                                                ["set by --train.epochs", "cfg_options.train_cfg.max_epochs"]),
    "whole-image selection on an untiled dataset": (["--select.metric", "full/mAP50"],
                                                    ["needs a val split made by `wt-data tile`", "select.metric"]),
    "a BatchNorm momentum of 1 or more": (["--mmdet.norm_momentum", "1.5"],
                                          ["must be above 0 and below 1, got 1.5", "mmdet.norm_momentum)"]),
    "torchrun's launcher without torchrun": (["--mmdet.launcher", "pytorch"],
                                             ["launcher 'pytorch' needs WORLD_SIZE", "start it with torchrun",
                                              "mmdet.launcher)"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fit_refuses(case, small_ds, files, classify_ds, request):
    if case == "AMP on a machine without GPU":
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present")
    args, fragments = CASES[case]
    args = [a.format(files=files, classify=classify_ds) for a in args]
    base = [] if "--dataset" in args else ["--dataset", str(small_ds)]
    proc = run_cli("wt-mmdet", "fit", *base, *args, "--out", files / "never", timeout=300)
    assert_bad_input(proc, *fragments)
    assert "training defaults" not in proc.stderr and "small training split" not in proc.stderr  # checked first
    assert not (files / "never").exists() and not (files / "never.partial").exists()


def test_predict_needs_exactly_one_source(small_ds, tmp_path):
    proc = run_cli("wt-mmdet", "predict", "--run", tmp_path, "--out", tmp_path / "p", timeout=120)
    assert_bad_input(proc, "exactly one of --dataset")


def test_predict_refuses_a_missing_run(small_ds, tmp_path):
    proc = run_cli("wt-mmdet", "predict", "--run", tmp_path / "nothing", "--dataset", small_ds, "--out",
                   tmp_path / "p", timeout=120)
    assert_bad_input(proc, "manifest not found")


@pytest.mark.parametrize(("env", "args", "fragments"), [
    ({"SLURM_PROCID": "1", "SLURM_NTASKS": "2"}, [], ["rank 1 of several but has no launcher", "mmdet.launcher)"]),
    ({"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_NODELIST": "node1"}, ["--mmdet.launcher", "slurm"],
     ["slurm launcher needs GPUs", "torchrun under srun"]),
], ids=["a second srun task without a launcher", "mmengine's slurm launcher on CPUs"])
def test_fit_refuses_a_launch_it_cannot_join(env, args, fragments, small_ds, tmp_path):
    proc = run_cli("wt-mmdet", "fit", "--dataset", small_ds, "--device", "cpu", *args, "--out", tmp_path / "never",
                   env=env, timeout=300)
    assert_bad_input(proc, *fragments)
    assert not (tmp_path / "never").exists() and not (tmp_path / "never.partial").exists()
