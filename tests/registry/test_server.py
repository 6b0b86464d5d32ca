"""wt-registry against a real `mlflow server` process on loopback (sqlite backend, proxied artifacts)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from helpers import manifest_of, run_cli
from registry_helpers import cli

pytestmark = pytest.mark.slow

def test_register_show_pull_load_through_a_tracking_server(mlflow_server, runs, tmp_path, capfd, monkeypatch):
    env = {"MLFLOW_TRACKING_URI": mlflow_server}
    reg = run_cli("wt-registry", "register", "--model", "srv-det", "--detector", runs["detector"], "--classifier",
                  runs["classifier"], "--alias", "champion", "--conf", "0.001", "--out", tmp_path / "m",
                  env=env, check=True)
    m = manifest_of(reg)
    assert m["tracking"]["uri"] == mlflow_server and m["version"] == "1" and m["framework"] == "yolo+cls"
    shown = json.loads(cli(capfd, "show", "--model", "srv-det", "--json", env=env).stdout)
    assert shown["aliases"] == {"champion": "1"}
    pulled = cli(capfd, "pull", "--model", "srv-det@champion", "--cache", tmp_path / "cache", env=env)
    files = manifest_of(pulled)["artifacts"]
    assert files["artifacts/detector.pt"]["sha256"] == m["details"]["files"]["artifacts/detector.pt"]
    assert Path(pulled.stdout.strip()).parent.name == "1"
    import wt_registry

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    model = wt_registry.load("models:/srv-det@champion")  # artifacts come through the server
    assert model.metadata["two_stage"] is True and model.classifier is not None
    assert all(d.class_name in model.classes for d in model.predict([runs["image"]])[0])


REFUSED = "image 0 is not an image this model accepts: send base64-encoded image bytes"


@pytest.fixture(scope="module")
def served_files(runs, tmp_path_factory) -> dict:
    """A detector registered as served-det, and a serving root holding one image, a symlink that leaves the
    root, and beside the root an image that must stay out of reach."""
    from registry_helpers import register_py

    base = tmp_path_factory.mktemp("serve")
    register_py(model="served-det", detector=str(runs["detector"]), conf=0.001, out=base / "m")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "img.jpg").write_bytes(runs["image"].read_bytes())
    (outside / "secret.jpg").write_bytes(runs["image"].read_bytes())
    (root / "link.jpg").symlink_to(outside / "secret.jpg")
    (root / "sub").mkdir()
    return {"base": base, "root": root, "outside": outside,
            "b64": base64.b64encode(runs["image"].read_bytes()).decode()}


def refused(status: int, body: str, *hidden: str) -> str:
    """A 400 answer with one message, no stack trace and no server path; returns the model's message
    (MLflow puts the request's own data before it: `Failed to predict data '...'. Error: ...`)."""
    assert status == 400, body[:2000]
    answer = json.loads(body)
    assert answer["error_code"] == "BAD_REQUEST" and "stack_trace" not in answer, answer
    for leak in ("Traceback", "File \"", "site-packages"):
        assert leak not in body, f"{leak!r} in {body[:2000]}"
    message = answer["message"].rpartition("Error: ")[2]
    for leak in hidden:
        assert leak not in message, f"{leak!r} in {message}"
    return message


def test_served_model_reads_image_bytes_only_by_default(served_files):
    from registry_helpers import Served

    f = served_files
    with Served("models:/served-det/1", f["base"] / "serve-bytes.log") as server:
        status, body = server.invoke([f["b64"]])
        assert status == 200 and len(json.loads(body)["predictions"]) > 0
        messages = {case: refused(*server.invoke([image]), str(f["outside"]))
                    for case, image in {"/etc/passwd": "/etc/passwd", "a missing path": "/no/such/image.jpg",
                                        "an image on the server": str(f["outside"] / "secret.jpg"),
                                        "a relative path": "img.jpg", "garbage base64": "%%%not-base64%%%",
                                        "base64 that is no image": base64.b64encode(b"hello").decode()}.items()}
    # one message for every case: nothing tells whether a file exists
    assert set(messages.values()) == {f"{REFUSED} (image)"}, messages


def test_served_model_reads_paths_only_under_the_serving_root(served_files):
    from registry_helpers import Served

    f = served_files
    root = f["root"]
    with Served("models:/served-det/1", f["base"] / "serve-root.log", env={"WT_SERVE_ROOT": str(root)}) as server:
        for image in ("img.jpg", str(root / "img.jpg"), "sub/../img.jpg", f["b64"]):
            status, body = server.invoke([image])
            rows = json.loads(body)["predictions"] if status == 200 else body
            assert status == 200 and len(rows) > 0, rows
            assert rows[0]["image"] == (image if image != f["b64"] else "#0")
        messages = {case: refused(*server.invoke([image]), str(root), str(f["outside"]))
                    for case, image in {"/etc/passwd": "/etc/passwd", "a missing path": "missing.jpg",
                                        ".. out of the root": "../outside/secret.jpg",
                                        ".. through a folder": "sub/../../outside/secret.jpg",
                                        "a symlink out of the root": "link.jpg",
                                        "garbage base64": "%%%not-base64%%%"}.items()}
    assert set(messages.values()) == {f"{REFUSED} or the path of an image under the serving root (image)"}, messages
