"""One device check in wt-core (issue 17, item 5): a GPU this machine lacks is a bad input, found before any output."""

from __future__ import annotations

import pytest
from helpers import assert_bad_input, run_cli
from wt_core.devices import _cuda_indices, check_accelerator, check_device, cuda_count
from wt_core.errors import BadInput


@pytest.mark.parametrize(("spec", "want"), [
    (None, None), ("cpu", None), ("auto", None), ("", None), ("mps", None),
    ("cuda", []), ("gpu", []), (-1, []), ("-1", []),
    (0, [0]), ("0", [0]), ("cuda:1", [1]), ("0,1", [0, 1]), ("[0, 2]", [0, 2]), ([0, 3], [0, 3]),
])
def test_device_specs_read_as_the_frameworks_do(spec, want):
    assert _cuda_indices(spec) == want


def test_cpu_is_always_allowed():
    check_device("cpu", "device")
    check_device(None, "device")
    check_accelerator("cpu", "auto", "device")
    check_accelerator("auto", "auto", "device")


def test_hidden_gpus_count_as_none(monkeypatch):
    """CUDA_VISIBLE_DEVICES='' hides every GPU: a GPU request is refused wherever the machine has some or none."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    if cuda_count() is None:
        pytest.skip("GPUs here are counted only by torch (ROCm)")
    with pytest.raises(BadInput, match="asks for a GPU, but this machine has none") as e:
        check_device("0", "ultralytics.device")
    assert e.value.line().endswith("(ultralytics.device)")
    with pytest.raises(BadInput, match="asks for a GPU") as e:
        check_accelerator("gpu", 2, "device")
    assert e.value.field == "device"


def test_a_gpu_index_beyond_the_count_is_refused():
    n = cuda_count()
    if not n:
        pytest.skip("no GPU here")
    check_device(n - 1, "device")
    with pytest.raises(BadInput, match=f"asks for GPU {n}, but this machine has {n}"):
        check_device(f"cuda:{n}", "device")


def test_cls_fit_refuses_a_missing_gpu_before_any_output(tmp_path):
    if cuda_count() != 0:
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    proc = run_cli("wt-cls", "fit", "--dataset", tmp_path / "nowhere", "--device", "gpu",
                   "--out", out)
    assert_bad_input(proc, "asks for a GPU, but this machine has none", "(device)")
    assert not out.exists() and not out.with_name("run.partial").exists()
