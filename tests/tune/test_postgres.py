"""Two wt-tune processes (as on two machines) join one study on a real PostgreSQL server."""

from __future__ import annotations

import subprocess

import pytest
from pg_server import PgServer, bin_dir
from tune_helpers import study_config, toy, trials_of

from tests.conftest import manifest_of, tool_path


@pytest.fixture(scope="module")
def postgres():
    bindir = bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    server = PgServer(bindir).start()
    yield server
    server.stop()


def test_two_workers_share_a_postgresql_study(postgres, tmp_path):
    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "2", "--sleep", "0.8"), n_trials=4,
                       pruner={"name": "none"}, storage=postgres.url, study="pg-study", poll=0.2)
    procs = [subprocess.Popen([tool_path("wt-tune"), "run", "--config", str(cfg), "--out", str(tmp_path / name)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("m1", "m2")]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    for p, _, err in results:
        assert p.returncode == 0, err[-3000:]
    manifests = [manifest_of(subprocess.CompletedProcess([], 0, out, err)) for _, out, err in results]
    trials = trials_of(tmp_path / "m1", "pg-study", postgres.url)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert sorted(t.user_attrs["ticket"] for t in trials) == [0, 1, 2, 3]
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both processes ran trials
    for m in manifests:
        assert m["details"]["states"] == {"COMPLETE": 4} and m["details"]["storage"] == postgres.url
        assert m["best_value"] == max(t.value for t in trials)
