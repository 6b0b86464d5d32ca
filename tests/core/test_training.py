"""The training harness (wt_core.training) driven by a toy trainer: selection, epoch hooks, resume checks."""

from __future__ import annotations

import json

import pytest
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import DatasetManifest
from wt_core.manifest_io import build, read_manifest, write_manifest
from wt_core.metrics_log import read_metrics
from wt_core.training import ANY, MORE, Select, TrainerSpec, Training, pick_splits

SPEC = TrainerSpec(tool="wt-toy", framework="mmdet", task="detect", select=Select("bbox_mAP", "max"),
                   standard={"mAP50_95": "bbox_mAP", "mAP50": "bbox_mAP_50"},
                   may_change={"epochs": MORE, "device": ANY, "stop_after": ANY, "hook": ANY, "spec": ANY,
                               "refuse_after": ANY, "patience": ANY})
SCORES = {1: 0.2, 2: 0.5, 3: 0.5, 4: 0.3, 5: 0.6}  # epoch 2 is the first of the two best of epochs 1-4


@pytest.fixture
def dataset(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    m = build(DatasetManifest, id="ds-1", task="detect", classes=["zebra"], splits={})
    write_manifest(d, m)
    return m


@command("wt-toy", "fit")
def toy_fit(dataset, out, epochs: int = 4, lr: float = 0.1, device: str = "cpu", resume: bool = False,
            stop_after: int | None = None, hook: bool = False, spec: TrainerSpec = SPEC, refuse_after: int | None = None,
            patience: int = 0):
    """A framework whose 'weights' are a text file naming the epoch they come from."""
    with Training(spec) as t:
        t.open(dataset, dataset.classes, out=out, overwrite=False, resume=resume, experiment="wt-toy", run_name=None)
        if hook:
            t.add_epoch_hook(lambda epoch, row: {"full/mAP50": 1.0 - row["bbox_mAP"]})
        last = t.dir / "last.txt"
        done = int(last.read_text()) if last.exists() else 0
        t.patience = patience
        t.restart_after(done)
        for epoch in range(done + 1, epochs + 1):
            rec = t.epoch(epoch, {"bbox_mAP": SCORES[epoch], "bbox_mAP_50": 0.9}, train={"loss": 1 / epoch}, lr=lr)
            if rec.is_best:
                (t.dir / "best.txt").write_text(str(epoch))
            last.write_text(str(epoch))
            if epoch == stop_after:
                raise KeyboardInterrupt
            if epoch == refuse_after:  # e.g. wt-cls: the selection metric was never logged
                raise BadInput("a check after training failed", None, "select.metric")
            if rec.stop:
                break
        return t.finish({"best": "best.txt", "last": "last.txt"}, imgsz=None, details={"toy": True})


def test_manifest_metrics_are_the_selected_epochs_validation_under_standard_names(dataset, tmp_path):
    m = toy_fit(dataset, tmp_path / "run")
    assert m.details["best_epoch"] == 2 and (tmp_path / "run" / "best.txt").read_text() == "2"
    assert m.metrics == {"bbox_mAP": 0.5, "bbox_mAP_50": 0.9, "mAP50_95": 0.5, "mAP50": 0.9}
    rows = read_metrics(tmp_path / "run")
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["train/loss"] == 1.0 and rows[0]["lr"] == 0.1 and rows[0]["mAP50_95"] == 0.2
    again = read_manifest(tmp_path / "run", "run")
    assert set(again.artifacts) == {"best", "last", "metrics", "config"}
    assert not (tmp_path / "run" / "wt-state.json").exists()
    import mlflow

    client = mlflow.MlflowClient(m.tracking.uri)
    run = client.get_run(m.tracking.run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["best/mAP50_95"] == 0.5
    assert {t: run.data.tags[t] for t in ("wt.tool", "wt.command", "wt.dataset_id")} == \
        {"wt.tool": "wt-toy", "wt.command": "wt-toy fit", "wt.dataset_id": "ds-1"}
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == \
        {"weights", "config.yaml", "metrics.jsonl", "manifest.json"}


def test_an_epoch_hook_adds_metrics_that_can_select_the_best(dataset, tmp_path):
    spec = TrainerSpec(**{**SPEC.__dict__, "select": Select("full/mAP50", "max")})
    m = toy_fit(dataset, tmp_path / "run", hook=True, spec=spec)
    rows = read_metrics(tmp_path / "run")
    assert [r["full/mAP50"] for r in rows] == pytest.approx([0.8, 0.5, 0.5, 0.7])
    assert m.details["best_epoch"] == 1 and m.metrics["full/mAP50"] == pytest.approx(0.8)
    assert m.details["select"] == {"metric": "full/mAP50", "mode": "max"}


def test_resume_refuses_a_changed_option_and_records_more_epochs(dataset, tmp_path):
    out, partial = tmp_path / "run", tmp_path / "run.partial"
    with pytest.raises(KeyboardInterrupt):
        toy_fit(dataset, out, stop_after=2)
    state = json.loads((partial / "wt-state.json").read_text())
    assert state["config"]["lr"] == 0.1 and state["dataset_id"] == "ds-1" and state["mlflow_run_id"]
    before = {p.name: p.read_bytes() for p in partial.iterdir()}
    with pytest.raises(BadInput) as e:
        toy_fit(dataset, out, lr=0.2, resume=True)
    assert e.value.field == "lr" and "(0.1 there, 0.2 now)" in e.value.message
    with pytest.raises(BadInput) as e:
        toy_fit(dataset, out, epochs=3, resume=True)  # fewer epochs than planned
    assert e.value.field == "epochs"
    assert {p.name: p.read_bytes() for p in partial.iterdir()} == before  # a refusal touches nothing
    m = toy_fit(dataset, out, epochs=5, device="gpu", resume=True)
    assert m.details["changed_on_resume"] == {"epochs": {"from": 4, "to": 5}, "device": {"from": "cpu", "to": "gpu"},
                                              "stop_after": {"from": 2, "to": None}}
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2, 3, 4, 5]
    assert m.details["best_epoch"] == 5 and m.tracking.run_id == state["mlflow_run_id"]


def test_a_bad_input_before_training_leaves_nothing_behind(dataset, tmp_path):
    @command("wt-toy", "fit")
    def refuses(out):
        with Training(SPEC) as t:
            t.open(dataset, ["zebra"], out=out, overwrite=False, resume=False, experiment="wt-toy", run_name=None)
            raise BadInput("the framework refused its config", None, "model")

    with pytest.raises(BadInput):
        refuses(tmp_path / "run")
    assert not (tmp_path / "run.partial").exists() and not (tmp_path / "run").exists()



def test_a_refusal_after_training_never_deletes_the_trained_output(dataset, tmp_path):
    """`@command` abandons a fresh output on a refusal; once an epoch is trained the harness keeps it, and the
    same command with --resume continues it."""
    out, partial = tmp_path / "run", tmp_path / "run.partial"
    with pytest.raises(BadInput, match="a check after training failed"):
        toy_fit(dataset, out, refuse_after=2)
    assert (partial / "last.txt").read_text() == "2" and (partial / "best.txt").read_text() == "2"
    assert [r["epoch"] for r in read_metrics(partial)] == [1, 2]
    m = toy_fit(dataset, out, resume=True)
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2, 3, 4] and m.details["resumed"]


def test_patience_stops_after_epochs_without_a_better_metric(dataset, tmp_path):
    m = toy_fit(dataset, tmp_path / "run", patience=2)  # best at 2 (0.5); 3 equal, 4 worse: stop after 4
    assert m.details["epochs"] == 4 and m.details["best_epoch"] == 2
    m = toy_fit(dataset, tmp_path / "run1", patience=1)
    assert m.details["epochs"] == 3


def test_choose_sets_the_selection_and_its_mode(dataset, tmp_path):
    @command("wt-toy", "fit")
    def chooses(out, metric: str, mode: str | None = None):
        with Training(SPEC) as t:
            t.choose(metric, mode)
            t.open(dataset, ["zebra"], out=out, overwrite=False, resume=False, experiment="wt-toy", run_name=None)
            t.restart_after(0)
            for epoch in (1, 2, 3):
                t.epoch(epoch, {"val/loss": {1: 0.5, 2: 0.2, 3: 0.4}[epoch], "full/count_error": 0.1 * epoch})
            (t.dir / "w").write_text("w")
            return t.finish({"best": "w"}, imgsz=None, details={})

    assert chooses(tmp_path / "a", "val/loss").details["best_epoch"] == 2  # a loss: smaller is better
    assert chooses(tmp_path / "b", "full/count_error").details["select"] == {"metric": "full/count_error",
                                                                             "mode": "min"}
    assert chooses(tmp_path / "c", "val/loss", "max").details["best_epoch"] == 1


def test_the_splits_are_picked_in_one_place(tmp_path):
    ds = build(DatasetManifest, id="ds-2", task="detect", classes=["zebra"],
               splits={s: {"images": 1, "annotations": f"{s}.json", "image_root": "."} for s in ("train", "test")})
    ds._path = tmp_path / "manifest.json"  # (as read from disk: a refusal names the file)
    assert pick_splits(ds, None, None) == ("train", "test")
    assert pick_splits(ds, None, None, val_names=("val",)) == ("train", None)
    assert pick_splits(ds, "test", "train") == ("test", "train")
    with pytest.raises(BadInput, match="no split 'valid'") as e:
        pick_splits(ds, None, "valid")
    assert e.value.field == "train.val_split"
