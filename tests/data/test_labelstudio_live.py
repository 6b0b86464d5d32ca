"""The review loop against a real Label Studio (the `label-studio` PyPI package, its sqlite database, on
localhost): our tasks and pre-annotations go in through label-studio-sdk, a reviewer's corrections come out as
Label Studio's own JSON export, and `wt-data import --format labelstudio` gives back the same images, ids,
classes and boxes (within 0.5 px).

Label Studio's pins clash with the workspace's, so it lives in its own environment, which .ci/run installs
(`$WT_LABEL_STUDIO`, default ~/.cache/wildtrain/label-studio/bin/label-studio). In CI a missing install fails
the test; elsewhere it is skipped with the reason. It is started once per session (its first start runs the
Django migrations, minutes on a busy machine; a migrated database is then kept beside the install and copied
for later sessions) and stopped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from data_helpers import assert_same_boxes, boxes_by_image, coco_of, imported
from helpers import free_port, stop, wait_http

HERE = Path(__file__).parent
USER, PASSWORD, TOKEN = "wildtrain@example.org", "wildtrain-test", "wildtrain0123456789abcdef0123456789"
START_TIMEOUT = float(os.environ.get("WT_LABEL_STUDIO_START_TIMEOUT", 600))


def label_studio_binary() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wildtrain" / "label-studio" / "bin" / "label-studio"
    path = Path(os.environ.get("WT_LABEL_STUDIO", default))
    if not path.is_file():
        why = (f"Label Studio is not installed at {path}: .ci/run installs it (uv venv {path.parent.parent} && "
               "uv pip install label-studio label-studio-sdk)")
        if os.environ.get("CI") or "WT_LABEL_STUDIO" in os.environ:
            pytest.fail(why)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory, small_aerial):
    """A running Label Studio: (URL, token, the Python of its environment)."""
    binary = label_studio_binary()
    python = binary.parent / "python"
    data = tmp_path_factory.mktemp("label_studio")
    db = data / "label_studio.sqlite3"
    version = next((p.name for p in binary.parent.parent.glob("lib/python*/site-packages/label_studio-*.dist-info")), "x")
    template = binary.parent.parent / f"migrated-{version}.sqlite3"
    if template.is_file():
        shutil.copyfile(template, db)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
           "LOCAL_FILES_SERVING_ENABLED": "true", "LOCAL_FILES_DOCUMENT_ROOT": str(small_aerial),
           "LABEL_STUDIO_BASE_DATA_DIR": str(data), "DJANGO_DB": "sqlite"}
    log = data / "label_studio.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(binary), "start", "--no-browser", "--data-dir", str(data), "-db", str(db),
                                 "--host", url, "--internal-host", "127.0.0.1", "--port", str(port), "--username", USER,
                                 "--password", PASSWORD, "--user-token", TOKEN, "--enable-legacy-api-token"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=data, start_new_session=True)
    try:
        wait_http(f"{url}/health", proc, START_TIMEOUT, log)
        if not template.is_file():  # the migrated database, for the next session's quicker start
            with sqlite3.connect(db) as src, sqlite3.connect(str(template) + ".tmp") as dst:
                src.backup(dst)
            os.replace(str(template) + ".tmp", template)
        yield url, TOKEN, python
    finally:
        stop(proc)


def through_label_studio(label_studio, export_dir: Path, out: Path, review: bool = False) -> dict:
    """Our tasks into a new project, (reviewed,) exported as Label Studio JSON to `out`."""
    url, token, python = label_studio
    args = [str(python), str(HERE / "ls_client.py"), url, token, str(export_dir / "label_config.xml"),
            str(export_dir / "tasks.json"), str(out), *(["--review"] if review else [])]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def split_small(small_aerial, tmp_path_factory):
    root = tmp_path_factory.mktemp("ls_ds")
    _, d = imported("import", "--source", small_aerial / "coco.json", "--out", root / "all")
    _, s = imported("split", "--dataset", d, "--ratios", "[0.5, 0.5]", "--names", "[train, val]", "--out", root / "split")
    return s


def ids_and_names(ds_dir: Path) -> dict:
    m = json.loads((ds_dir / "manifest.json").read_text())
    return {split: sorted((im["id"], Path(im["file_name"]).name) for im in coco_of(ds_dir, split)["images"])
            for split in m["splits"]}


def test_annotations_survive_label_studio(label_studio, split_small, small_aerial, tmp_path):
    _, x = imported("export", "--dataset", split_small, "--format", "labelstudio", "--local_files_root", small_aerial,
                    "--out", tmp_path / "x")
    tasks = json.loads((x / "tasks.json").read_text())
    assert tasks[0]["data"]["image"].startswith("/data/local-files/?d=images/")
    info = through_label_studio(label_studio, x, tmp_path / "export.json")
    assert info["tasks"] == len(tasks)
    exported = json.loads((tmp_path / "export.json").read_text())
    assert all(t["annotations"] and "wt_path" in t["data"] for t in exported)  # Label Studio's own export
    m, again = imported("import", "--source", tmp_path / "export.json", "--format", "labelstudio", "--out", tmp_path / "again")
    src = json.loads((split_small / "manifest.json").read_text())
    assert m["classes"] == src["classes"] and m["report"] == {}
    assert {k: (v["images"], v["boxes"], v["per_class"]) for k, v in m["splits"].items()} == \
        {k: (v["images"], v["boxes"], v["per_class"]) for k, v in src["splits"].items()}
    assert ids_and_names(again) == ids_and_names(split_small)
    assert_same_boxes(boxes_by_image(again), boxes_by_image(split_small), atol=0.5)


def test_reviewed_pre_annotations_come_back_corrected(label_studio, split_small, tmp_path):
    sys.path.insert(0, str(HERE.parent / "eval"))
    from evalcases import write_predictions
    from wt_data import load_split, read_dataset

    ds = read_dataset(split_small)
    rows = {}
    for split in ds.splits:
        coco, _ = load_split(ds, split)
        rows[split] = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                        "score": round(0.95 - 0.02 * (k % 10), 3)} for k, a in enumerate(coco["annotations"])]
        rows[split].append({"image_id": coco["images"][0]["id"], "category_id": 0, "bbox": [1, 1, 6, 6], "score": 0.05})
    pred = write_predictions(tmp_path / "pred", ds, rows)
    _, x = imported("export", "--dataset", pred.root, "--format", "labelstudio", "--conf", "0.25", "--out", tmp_path / "x")
    tasks = json.loads((x / "tasks.json").read_text())
    first = next(t for t in tasks if t["predictions"][0]["result"])
    assert first["predictions"][0]["model_version"] == pred.id and 0.25 <= first["predictions"][0]["result"][0]["score"] <= 1
    assert sum(len(t["predictions"][0]["result"]) for t in tasks) == sum(len(r) - 1 for r in rows.values())  # 0.05 left out
    info = through_label_studio(label_studio, x, tmp_path / "reviewed.json", review=True)
    assert info["annotations_made"] == len(tasks)
    m, again = imported("import", "--source", tmp_path / "reviewed.json", "--format", "labelstudio", "--out", tmp_path / "a")
    src = json.loads((split_small / "manifest.json").read_text())
    assert m["classes"] == src["classes"] and ids_and_names(again) == ids_and_names(split_small)
    assert sum(s["boxes"] for s in m["splits"].values()) == sum(s["boxes"] for s in src["splits"].values()) - 1
    # the reviewer deleted the last box of the first task with boxes; everything else is as predicted
    want = boxes_by_image(split_small)
    got = boxes_by_image(again)
    name = Path(first["data"]["wt_path"]).name
    last = first["predictions"][0]["result"][-1]["value"]
    dropped = next(b for b in want[name] if abs(b[1] - last["x"] * first["predictions"][0]["result"][-1]["original_width"] / 100) < 0.5
                   and abs(b[2] - last["y"] * first["predictions"][0]["result"][-1]["original_height"] / 100) < 0.5)
    want[name] = [b for b in want[name] if b != dropped]
    assert_same_boxes(got, want, atol=0.5)
