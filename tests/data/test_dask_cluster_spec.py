"""`--dask.cluster spec.yaml` without a SLURM: the README's SLURMCluster spec builds the job script it shows,
and a spec that dask-jobqueue or the batch system refuses is one error line (exit 2), not a traceback or a
wait for ever. The spec run on a real SLURM: tools/slurm_check.py (a developer's check, not CI)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from data_helpers import wt_data
from helpers import ROOT, assert_bad_input

README = ROOT / "packages" / "wt-core" / "README.md"


def _readme_block(kind: str) -> str:
    blocks = re.findall(r"<!-- tools/slurm_check\.py runs this[^>]*-->\n```(\w*)\n(.*?)```", README.read_text(), re.S)
    return next(text for lang, text in blocks if lang == kind)


def test_the_readme_spec_builds_the_slurm_job_it_shows():
    pytest.importorskip("dask_jobqueue")
    from wt_core.dask_engine import _cluster_spec

    spec_file = Path("slurm.yaml")
    spec_file.write_text(_readme_block("yaml"))
    spec = _cluster_spec(spec_file)
    module, _, name = spec["class"].rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    cluster = cls(**spec["options"])  # a scheduler here; nothing is submitted before scale
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p gpu", "#SBATCH --cpus-per-task=4", "#SBATCH --gres=gpu:1"):
        assert line in script.splitlines(), script
    assert "--resources GPU=1" in script, "the workers hold the GPU resource that --dask.gpus asks for"
    assert spec["jobs"] == 4


def test_the_readme_array_job_cuts_the_job_as_its_array():
    script = _readme_block("bash")  # the first: predict.sbatch
    assert script.startswith("#!"), "sbatch refuses a script without its interpreter line"
    array = re.search(r"--array=0-(\d+)", script)
    n = re.search(r"^N=(\d+)$", script, re.M)
    assert array and n and int(n[1]) == int(array[1]) + 1, "N is the array's size, tasks numbered from 0"
    assert "--shard $SLURM_ARRAY_TASK_ID/$N" in script and "SLURM_ARRAY_TASK_COUNT/" not in script


@pytest.mark.parametrize("options,jobs,fragments", [
    ({"cores": 1, "memory": "1GB", "nosuch": 1}, 1, ["refused its options", "unexpected keyword argument 'nosuch'"]),
    ({"memory": "1GB"}, 1, ["refused its options", "cores and memory"]),
    ({"cores": 1, "memory": "1GB"}, 0, ["'jobs' is a whole number of at least 1"]),
    ({"cores": 1, "memory": "1GB"}, "four", ["'jobs' is a whole number of at least 1, got 'four'"]),
    # sbatch refuses it wherever it runs: not installed, no controller, or no such partition
    ({"cores": 1, "memory": "1GB", "queue": "wt-no-such-partition"}, 1, ["could not submit its jobs"]),
])
def test_a_cluster_spec_refused_is_one_error_line(small_aerial_ds, tmp_path, options, jobs, fragments):
    pytest.importorskip("dask_jobqueue")
    spec = tmp_path / "slurm.yaml"
    spec.write_text(yaml.safe_dump({"class": "dask_jobqueue.SLURMCluster", "jobs": jobs, "options": options}))
    proc = wt_data("tile", "--dataset", small_aerial_ds, "--size", "160", "--dask.cluster", spec, "--out", tmp_path / "t")
    line = assert_bad_input(proc, *fragments)
    assert str(spec) in line
    assert not (tmp_path / "t").exists() and not (tmp_path / "t.partial").exists()
