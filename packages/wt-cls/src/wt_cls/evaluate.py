"""`wt-cls validate` and `wt-cls test`: metrics of a trained classifier on one split, as an evaluation manifest."""

from __future__ import annotations

import json

from wt_core.console import get_logger, print_table
from wt_core.devices import lightning_device
from wt_core.errors import BadInput
from wt_core.invocation import command
from wt_core.manifest import EvaluationManifest
from wt_core.manifest_io import build
from wt_core.outputs import Output

from wt_cls import __version__
from wt_cls.dataset import check_images, read_classification
from wt_cls.predictor import resolve_checkpoint

log = get_logger("wt-cls")


def dataset_of(run, dataset: str | None, ref: str) -> str:
    """The dataset to use: the one given, else the run's own."""
    if dataset:
        return dataset
    parent = run.parent("dataset") if run is not None else None
    if parent is None:
        raise BadInput("pass --dataset (a checkpoint alone does not name its dataset)", ref, "dataset")
    return str(run.parent_path(parent))


def _evaluate(stage: str, ref: str, dataset: str | None, split: str, batch: int, workers: int,
              device: str, out: str | None, overwrite: bool) -> EvaluationManifest:
    accelerator, devices = lightning_device(device, 1)
    run, ckpt = resolve_checkpoint(ref)
    ds = read_classification(dataset_of(run, dataset, ref))
    items = ds.split(split)
    if not items:
        raise BadInput(f"split {split!r} has no labelled images", ds.manifest.path, "splits")
    check_images(items)
    output = Output("wt-cls", stage, out, overwrite=overwrite)
    try:
        import lightning as L

        from wt_cls.data import ClassificationDataModule
        from wt_cls.predictor import load_module

        module = load_module(ckpt)
        if list(module.hparams["classes"]) != ds.classes:
            raise BadInput(f"the model's classes {module.hparams['classes']} differ from the dataset's {ds.classes}",
                           ds.manifest.path, "classes")
        hp = module.hparams
        dm = ClassificationDataModule(ds, input_size=hp["input_size"], mean=hp["mean"], std=hp["std"],
                                      batch_size=batch, num_workers=workers, val_split=split, test_split=split)
        trainer = L.Trainer(accelerator=accelerator, devices=devices, logger=False, enable_progress_bar=False,
                            enable_model_summary=False, enable_checkpointing=False)
        from wt_cls.fit import guarded

        with guarded(trainer):
            if stage == "validate":
                raw = trainer.validate(module, dataloaders=dm.val_dataloader(), verbose=False)[0]
            else:
                raw = trainer.test(module, dataloaders=dm.test_dataloader(), verbose=False)[0]
    except BadInput:
        output.discard()
        raise
    prefix = "val/" if stage == "validate" else "test/"
    metrics: dict[str, float] = {}
    per_class: dict[str, dict[str, float]] = {c: {} for c in ds.classes}
    for key, value in raw.items():
        name = key.removeprefix(prefix)
        if "." in name:
            metric, cls = name.split(".", 1)
            per_class.setdefault(cls, {})[metric] = float(value)
        else:
            metrics[name] = float(value)
    metrics["images"] = float(len(items))
    output.path("metrics.json").write_text(json.dumps({"metrics": metrics, "per_class": per_class}, indent=2))
    output.add("metrics", "metrics.json")
    parents = [p for p in (run, ds.manifest) if p is not None]
    m = build(EvaluationManifest, id=output.id, parents=parents, task="classify", dataset_id=ds.manifest.id,
              split=split, metrics=metrics, per_class=per_class,
              details={"checkpoint": str(ckpt), "run_id": run.id if run else None})
    print_table(f"{stage} on {split} ({len(items)} images)", ["metric", "value"], [[k, v] for k, v in metrics.items()])
    print_table("per class", ["class", *sorted({k for v in per_class.values() for k in v})],
                [[c, *[v[k] for k in sorted(v)]] for c, v in per_class.items()])
    return output.commit(m)


def _stage_command(stage: str, default_split: str):
    """`validate` and `test`: the same command on a different default split."""

    def run_stage(run: str, dataset: str | None = None, split: str = default_split, batch: int = 32,
                  workers: int = 2, device: str = "auto", out: str | None = None,
                  overwrite: bool = False) -> EvaluationManifest:
        return _evaluate(stage, run, dataset, split, batch, workers, device, out, overwrite)

    run_stage.__name__ = run_stage.__qualname__ = stage
    run_stage.__doc__ = f"""Evaluate a trained classifier on the {default_split} split: an evaluation manifest (accuracy, macro F1, per class).

    Args:
        run: A wt-cls run manifest (file, directory or -) or a .ckpt file.
        dataset: A classification dataset manifest (default: the run's own).
        split: The split to evaluate.
        batch: Images per batch.
        workers: DataLoader workers.
        device: auto, cpu, mps, cuda (or gpu), cuda:N or N.
        out: Output directory (default runs/cls/{stage}/<id>).
        overwrite: Replace an existing output directory.
    """
    return command("wt-cls", stage, __version__)(run_stage)


validate = _stage_command("validate", "val")
test = _stage_command("test", "test")
test.__test__ = False  # not a pytest test
