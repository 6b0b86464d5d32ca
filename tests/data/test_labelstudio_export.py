"""Label Studio tasks without a server: image references (local-files root, URL prefix) and their refusals."""

from __future__ import annotations

import json

from data_helpers import imported, tiny_coco, wt_data
from helpers import assert_bad_input, written


def test_image_references_local_files_or_url_prefix(tmp_path):
    doc = tiny_coco(tmp_path / "survey")
    (tmp_path / "survey" / "coco.json").write_text(json.dumps(doc))
    _, d = imported("import", "--source", tmp_path / "survey" / "coco.json", "--out", tmp_path / "ds")
    _, x = imported("export", "--dataset", d, "--format", "labelstudio", "--local_files_root", tmp_path, "--out", tmp_path / "a")
    tasks = json.loads((x / "tasks.json").read_text())
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d=survey/images/im{i}.jpg" for i in range(3)]
    assert 'RectangleLabels name="label" toName="image"><Label value="elephant"/>' in (x / "label_config.xml").read_text()
    _, y = imported("export", "--dataset", d, "--format", "labelstudio", "--url_prefix", "https://bucket.example/s1/",
                    "--out", tmp_path / "b")
    tasks = json.loads((y / "tasks.json").read_text())
    assert tasks[0]["data"]["image"] == "https://bucket.example/s1/im0.jpg"
    # without wt_path (tasks made elsewhere), the reference itself is read: the URL's file name under --images
    for t in tasks:
        del t["data"]["wt_path"]
    (tmp_path / "urls.json").write_text(json.dumps(tasks))
    m, _ = imported("import", "--source", tmp_path / "urls.json", "--format", "labelstudio",
                    "--images", tmp_path / "survey" / "images", "--out", tmp_path / "again")
    assert m["splits"]["all"]["images"] == 3 and m["splits"]["all"]["boxes"] == 3


def test_an_image_outside_the_local_files_root_is_refused(tmp_path):
    doc = tiny_coco(tmp_path / "survey")
    (tmp_path / "survey" / "coco.json").write_text(json.dumps(doc))
    _, d = imported("import", "--source", tmp_path / "survey" / "coco.json", "--out", tmp_path / "ds")
    (tmp_path / "elsewhere").mkdir()
    proc = wt_data("export", "--dataset", d, "--format", "labelstudio", "--local_files_root", tmp_path / "elsewhere",
                   "--out", tmp_path / "x")
    assert_bad_input(proc, "is not under the local-files root", "--local_files_root")
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.partial").exists()


def test_a_relative_local_files_root_with_dots_is_normalised(tmp_path):
    doc = tiny_coco(tmp_path / "survey")
    (tmp_path / "survey" / "coco.json").write_text(json.dumps(doc))
    _, d = imported("import", "--source", tmp_path / "survey" / "coco.json", "--out", tmp_path / "ds")
    (tmp_path / "elsewhere").mkdir()
    _, x = written(wt_data("export", "--dataset", d, "--format", "labelstudio", "--local_files_root", "../survey",
                           "--out", tmp_path / "x", cwd=tmp_path / "elsewhere", check=True))
    tasks = json.loads((x / "tasks.json").read_text())
    assert [t["data"]["image"] for t in tasks] == [f"/data/local-files/?d=images/im{i}.jpg" for i in range(3)]
