"""`wt-registry register`: trained runs → one registered MLflow model version (pyfunc).

A detector run, a classifier run, or both as one two-stage model, of any trainer
that declares a predictor (`wt_registry.plugins`: wt-yolo, wt-mmdet, wt-cls ...).
The recipe: read and verify the run manifests (weights against their sha256),
stage the files the trainer's predictor needs, `model.json` (how to predict) and `lineage.json` (the
manifests back to the raw import) in the output directory, log them as one
pyfunc model with a signature, explicit pip requirements and the metadata an
inference system reads, register it, tag it, then write the model manifest.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from wt_core import console
from wt_core.errors import BadInput
from wt_core.hashing import file_sha256
from wt_core.invocation import command
from wt_core.manifest import EvaluationManifest, ManifestBase, ModelManifest, RunManifest
from wt_core.manifest_io import build, lineage, read_manifest
from wt_core.outputs import Output
from wt_core.ranges import PositiveUnit, UnitInterval
from wt_core.readers import TASK_WORDS, read_evaluation, read_run

from wt_registry import __version__, plugins
from wt_registry.options import Relabel, Slicing, Thresholds
from wt_registry.predictor import CONFIG_FORMAT
from wt_registry.store import Ref, connect, eval_tag, mlflow_errors, parse_ref

log = console.get_logger("wt-registry")
MODEL_DIR = "model"
BASE_REQUIREMENTS = ("mlflow", "wt-core", "wt-registry", "numpy", "pandas", "opencv-python", "pillow")
ROLE_TASKS = {"detector": "detect", "classifier": "classify"}


def read_role_run(ref: str, role: str) -> RunManifest:
    """A run manifest for `role` (detector or classifier) whose trainer declares a predictor of that task."""
    run = read_run(ref)
    task = ROLE_TASKS[role]
    if run.task != task:
        other = "--classifier" if role == "detector" else "--detector"
        raise BadInput(f"this is a {run.task} run ({run.framework}); --{role} takes a {TASK_WORDS[task]} run; "
                       f"give it as {other}", run.path, "task")
    if plugins.plugin(run.framework).task != task:
        raise BadInput(f"the installed {run.framework} predictor is not a {role}", run.path, "framework")
    return run


def training_crop_margin(run: RunManifest) -> float:
    """The margin that crops a box as the classifier's training crops were cut: a dataset made by `wt-data crops`
    grows each box's longer side by `padding` (half on each side); 0 for any other dataset or fixed-size crops."""
    parent = run.parent("dataset")
    if parent is None:
        return 0.0
    ds = read_manifest(run.parent_path(parent), "dataset", hashes=False, parents=False)
    crops = (ds.details or {}).get("crops") or {}
    if crops.get("fixed") is not None:
        return 0.0
    return float(crops.get("padding") or 0.0) / 2


def calibrated(calibration: str | None) -> tuple[float | None, dict[str, Any] | None, ManifestBase | None]:
    """The score threshold and the extra NMS (or None) that a calibration recommends.

    `wt-eval calibrate` records them in details.calibration (score_threshold, nms_iou, class_aware);
    a `wt-eval detect` evaluation gives its best-F1 threshold.
    """
    if calibration is None:
        return None, None, None
    m = read_evaluation(calibration)
    cal = m.details.get("calibration")
    if isinstance(cal, dict) and isinstance(cal.get("score_threshold"), (int, float)):
        post = None
        if isinstance(cal.get("nms_iou"), (int, float)):
            post = {"iou": float(cal["nms_iou"]), "class_aware": bool(cal.get("class_aware", True))}
        return float(cal["score_threshold"]), post, m
    if "best_f1_threshold" in m.metrics:
        return float(m.metrics["best_f1_threshold"]), None, m
    raise BadInput("this evaluation records no score threshold (details.calibration of wt-eval calibrate, or "
                   "metrics.best_f1_threshold of wt-eval detect)", m.path, "details.calibration")


def lineage_nodes(manifests: list[ManifestBase]) -> list[dict[str, Any]]:
    """Every manifest the given ones came from, each once, as small records (the stored lineage)."""
    nodes: dict[str, dict[str, Any]] = {}
    for m in manifests:
        for node in lineage(m):
            if node.id not in nodes:
                nodes[node.id] = {"kind": node.kind, "id": node.id, "tool": node.producer.tool,
                                  "command": node.producer.command, "created": node.created.isoformat(),
                                  "path": str(node.path), "parents": [p.id for p in node.parents]}
    return list(nodes.values())


def requirements(detector: RunManifest | None, classifier: RunManifest | None) -> list[str]:
    """Pinned pip requirements of what predicting needs (explicit: logging infers none, which is slow)."""
    names = list(BASE_REQUIREMENTS)
    for run in (detector, classifier):
        if run is not None:
            names += plugins.plugin(run.framework).requirements
    out = []
    for n in dict.fromkeys(names):
        try:
            out.append(f"{n}=={importlib_metadata.version(n)}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def signature(conf: float):
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema([ColSpec("string", "image")])
    outputs = Schema([ColSpec("long", "image_index"), ColSpec("string", "image"), ColSpec("double", "x1"),
                      ColSpec("double", "y1"), ColSpec("double", "x2"), ColSpec("double", "y2"),
                      ColSpec("double", "score"), ColSpec("long", "class_id"), ColSpec("string", "class_name")])
    params = ParamSchema([ParamSpec("conf", "double", float(conf))])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def parse_tags(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"a tag is key=value, got {item!r}", None, "tags")
        out[key.strip()] = value
    return out


@command("wt-registry", "register", __version__)
def register(model: str, detector: str | None = None, classifier: str | None = None,
             evaluation: str | None = None, calibration: str | None = None, weights: str = "best",
             conf: UnitInterval | None = None, iou: PositiveUnit = 0.7, max_det: int = 300, imgsz: int | None = None,
             slicing: Slicing = Slicing(),
             relabel: Relabel = Relabel(), alias: str | None = None,
             description: str | None = None, tags: list[str] | None = None, experiment: str = "wt-registry",
             out: Path | None = None, overwrite: bool = False) -> ModelManifest:
    """Register a detector run, a classifier run, or both as one two-stage model, as a new MLflow model version.

    The version is an MLflow pyfunc model: full-size images in (paths or base64), animals out (box in
    pixels, score, class id and name). Its metadata carries task, framework, classes, input and tile
    size, thresholds, dataset ids and evaluation metrics, and the keys inference systems read (imgsz,
    tilesize, batch, task, num_classes, model_type). Writes a model manifest whose parents are the runs.

    Args:
        model: The registered model's name (created if new), as every wt-registry command names a model.
        detector: A detection run manifest (wt-yolo fit), or '-' for a path on stdin.
        classifier: A classification run manifest (wt-cls fit): alone it labels whole images; with
            --detector it re-labels each box from its crop (score = detector x classifier).
        evaluation: An evaluation manifest (wt-eval) of this model, attached as metrics of its dataset split.
        calibration: A `wt-eval calibrate` manifest: its score threshold becomes --conf (unless given)
            and its NMS, if any, is applied to the merged boxes.
        weights: Which weights of the runs: best or last.
        conf: Minimum detector score of a box (default: the calibrated threshold, else 0.25).
        iou: IoU threshold of the detector's NMS within each tile.
        max_det: Maximum boxes per image, after merging.
        imgsz: The detector's network input size (default: the run's training size).
        slicing: Tiling of full-size images.
        relabel: The second-stage classifier's background handling and crops.
        alias: An alias to point at the new version (e.g. challenger).
        description: The version's description (default: one written from the runs).
        tags: Extra version tags, key=value (--tags+ k=v, repeatable).
        experiment: The MLflow experiment of the run that logs the model.
        out: The output directory (default runs/registry/register/<id>).
        overwrite: Replace an existing output directory.
    """
    from wt_core.tracking import check_reachable, tracking_uri

    try:
        thresholds = Thresholds(conf=conf, iou=iou, max_det=max_det, imgsz=imgsz)
    except ValueError as e:
        raise BadInput(str(e), None, str(e).split()[0]) from None
    if detector is None and classifier is None:
        raise BadInput("give --detector, --classifier, or both", None, "detector")
    ref = parse_ref(model, "model")
    if ref.alias or ref.version:
        raise BadInput(f"a model name, not a version: {model!r}", None, "model")
    if weights not in ("best", "last"):
        raise BadInput(f"weights is best or last, got {weights!r}", None, "weights")
    extra_tags = parse_tags(tags or [])
    det = read_role_run(detector, "detector") if detector is not None else None
    cls = read_role_run(classifier, "classifier") if classifier is not None else None
    evals = [read_evaluation(e) for e in ([evaluation] if evaluation else [])]
    calib_conf, post_nms, calib = calibrated(calibration)
    check_reachable(tracking_uri())  # before any work: an unreachable server is one line within seconds

    output = Output("wt-registry", "register", out, overwrite=overwrite)
    try:
        config, files = _stage(output, det, cls, weights, thresholds, calib_conf, post_nms, slicing, relabel)
    except BadInput:
        output.discard()
        raise
    parents: list[ManifestBase] = [m for m in (det, cls) if m is not None] + evals + ([calib] if calib else [])
    nodes = lineage_nodes([m for m in (det, cls) if m is not None])
    output.path(f"{MODEL_DIR}/lineage.json").write_text(json.dumps(nodes, indent=2))
    files["lineage.json"] = output.path(f"{MODEL_DIR}/lineage.json")
    output.add("lineage.json", f"{MODEL_DIR}/lineage.json")
    meta = model_metadata(config, det, cls, evals)
    sha = {f"artifacts/{k}": file_sha256(p) for k, p in files.items()}
    run_tags = {"wt.tool": "wt-registry", "wt.model": ref.name,
                **{f"wt.{role}_run": m.id for role, m in (("detector", det), ("classifier", cls)) if m is not None}}
    version_tags = {"wt.framework": config["framework"], "wt.task": config["task"],
                    "wt.dataset_ids": json.dumps(meta["dataset_ids"]), "wt.run_ids": json.dumps(meta["run_ids"]),
                    "wt.files": json.dumps(sha), "wt.register_id": output.id, **extra_tags}
    for e in evals:
        version_tags[eval_tag(e.dataset_id, e.split)] = json.dumps({"evaluation_id": e.id, "metrics": e.metrics})
    text = description or describe(config, det, cls)

    from wt_core.tracking import configure, experiment_id

    configure()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    from wt_registry.pyfunc_model import WildTrainModel

    client = connect()
    with mlflow.start_run(experiment_id=experiment_id(experiment), run_name=f"register-{ref.name}",
                          tags=run_tags) as run:
        with mlflow_errors("cannot register the model", "model"), warnings.catch_warnings():
            # MLflow's advice (type hints, an input example, models-from-code) is about models unlike ours
            warnings.simplefilter("ignore", UserWarning)
            logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
            logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
            info = mlflow.pyfunc.log_model(
                name=MODEL_DIR, python_model=WildTrainModel(), artifacts={k: str(p) for k, p in files.items()},
                signature=signature(config["detector"]["conf"] if config.get("detector") else 0.0),
                pip_requirements=requirements(det, cls), metadata=meta, registered_model_name=ref.name,
                model_config={"image_root": ""},  # no local paths unless a loader names a root (pyfunc_model.py)
                await_registration_for=60)
        version = str(info.registered_model_version)
        for k, v in version_tags.items():
            client.set_model_version_tag(ref.name, version, k, v)
        client.update_model_version(ref.name, version, description=text)
        if alias:
            with mlflow_errors(f"cannot set alias {alias!r}", "alias"):
                client.set_registered_model_alias(ref.name, alias, version)
        tracking = _tracking(run)
        log.info("registered %s version %s (%s, %d classes)", ref.name, version, config["framework"],
                 len(config["classes"]))
        manifest = build(ModelManifest, id=output.id, parents=parents, name=ref.name, version=version,
                         uri=Ref(ref.name, version=version).uri, framework=config["framework"], task=config["task"],
                         classes=config["classes"], aliases=[alias] if alias else [], tracking=tracking,
                         details={"logged_model_uri": info.model_uri, "metadata": meta, "files": sha,
                                  "description": text, "tags": version_tags})
        manifest = output.commit(manifest)
        mlflow.log_artifact(str(manifest.path), "wildtrain")
        client.set_model_version_tag(ref.name, version, "wt.manifest", str(manifest.path))
    return manifest


def _tracking(run):
    from wt_core.manifest import Tracking
    from wt_core.tracking import tracking_uri

    return Tracking(uri=tracking_uri(), experiment_id=run.info.experiment_id, run_id=run.info.run_id)


def _stage(output: Output, det: RunManifest | None, cls: RunManifest | None, weights: str, thresholds: Thresholds,
           calib_conf: float | None, post_nms: dict[str, Any] | None, slicing: Slicing,
           relabel: Relabel) -> tuple[dict[str, Any], dict[str, Path]]:
    """Copy the weights into the output directory and write model.json; returns the config and the files."""
    files: dict[str, Path] = {}
    config: dict[str, Any] = {"format": CONFIG_FORMAT, "detector": None, "classifier": None}

    def stage(run: RunManifest, role: str) -> dict[str, Any]:
        directory = output.path(f"{MODEL_DIR}/{role}").parent  # made here
        names = plugins.plugin(run.framework).stage(run, weights, directory, role)
        for name in names:
            files[name] = directory / name
            output.add(name, f"{MODEL_DIR}/{name}")
        return {"file": names[0], "files": names}

    if det is not None:
        conf = thresholds.conf if thresholds.conf is not None else (calib_conf if calib_conf is not None else 0.25)
        config["detector"] = {"framework": det.framework, **stage(det, "detector"), "run_id": det.id,
                              "classes": list(det.classes), "imgsz": int(thresholds.imgsz or det.imgsz or 640),
                              "conf": float(conf), "iou": thresholds.iou, "max_det": thresholds.max_det,
                              "slicing": slicing.record(), "post_nms": post_nms}
    if cls is not None:
        has_bg = relabel.background in cls.classes
        config["classifier"] = {"framework": cls.framework, **stage(cls, "classifier"), "run_id": cls.id,
                                "classes": list(cls.classes), "input_size": cls.imgsz,
                                "background": relabel.background if has_bg else None,
                                "keep_background": relabel.keep_background,
                                "crop_margin": relabel.crop_margin if relabel.crop_margin is not None
                                else training_crop_margin(cls),
                                "batch": relabel.batch}
    if det is not None and cls is not None:
        bg = config["classifier"]["background"]
        config["classes"] = [c for c in cls.classes if relabel.keep_background or c != bg]
        config["task"], config["framework"] = "detect", f"{det.framework}+{cls.framework}"
    elif det is not None:
        config["classes"], config["task"], config["framework"] = list(det.classes), "detect", det.framework
    else:
        config["classes"], config["task"], config["framework"] = list(cls.classes), "classify", cls.framework
    output.path(f"{MODEL_DIR}/model.json").write_text(json.dumps(config, indent=2))
    files["model.json"] = output.dir / MODEL_DIR / "model.json"
    output.add("model.json", f"{MODEL_DIR}/model.json")
    return config, files


def model_metadata(config: dict[str, Any], det: RunManifest | None, cls: RunManifest | None,
                   evals: list[EvaluationManifest]) -> dict[str, Any]:
    """What MLflow records with the model; includes the keys the WildDetect inference system reads."""
    d, c = config.get("detector"), config.get("classifier")
    runs = [m for m in (det, cls) if m is not None]
    meta: dict[str, Any] = {
        "task": config["task"], "framework": config["framework"],
        "model_type": "detector" if d else "classifier",
        "classes": config["classes"], "num_classes": len(config["classes"]),
        "imgsz": d["imgsz"] if d else c["input_size"],
        "tilesize": d["slicing"]["tile"] if d else None, "overlap": d["slicing"]["overlap"] if d else None,
        "batch": d["slicing"]["batch"] if d else c["batch"],
        "conf": d["conf"] if d else None, "iou": d["iou"] if d else None, "max_det": d["max_det"] if d else None,
        "merge": d["slicing"]["merge"] if d else None, "merge_iou": d["slicing"]["merge_iou"] if d else None,
        "post_nms_iou": (d.get("post_nms") or {}).get("iou") if d else None,
        "two_stage": bool(d and c), "classifier_classes": c["classes"] if c else None,
        "background": c["background"] if c else None,
        "dataset_ids": sorted({m.dataset_id for m in runs}), "run_ids": [m.id for m in runs],
        "mlflow_runs": [m.tracking.run_id for m in runs if m.tracking is not None],
        "evaluations": [{"dataset_id": e.dataset_id, "split": e.split, "evaluation_id": e.id, "metrics": e.metrics}
                        for e in evals],
    }
    return meta


def describe(config: dict[str, Any], det: RunManifest | None, cls: RunManifest | None) -> str:
    parts = []
    if det is not None:
        d = config["detector"]
        parts.append(f"{det.framework} detector (run {det.id}, dataset {det.dataset_id}), input {d['imgsz']} px, "
                     f"tiles {d['slicing']['tile']} px with {d['slicing']['overlap']:.0%} overlap, conf {d['conf']}")
    if cls is not None:
        role = "crop classifier re-labelling each box" if det is not None else "image classifier"
        parts.append(f"{role} (run {cls.id}, dataset {cls.dataset_id})")
    return "; ".join(parts) + f". Classes: {', '.join(config['classes'])}."
