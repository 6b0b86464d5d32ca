"""Two wt-tune processes (as on two machines) join one study on a real PostgreSQL server."""

from __future__ import annotations

import subprocess

import pytest
from helpers import manifest_of, tool_path
from pg_server import PgServer, bin_dir
from tune_helpers import study_config, toy, trials_of


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


def test_a_trial_whose_remote_worker_went_silent_is_failed_by_its_heartbeat(postgres, tmp_path):
    """A worker on another machine claimed a trial and died: no pid to check, only its stale heartbeat tells.

    The trial is failed and queued again once (the storage's heartbeat callback), so the study still
    finishes the three trials asked for."""
    import optuna
    import sqlalchemy
    from optuna.trial import TrialState
    from wt_tune.study import TICKETS_ATTR, open_storage

    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1"), n_trials=2, pruner={"name": "none"},
                       storage=postgres.url, study="hb-study", poll=0.2)
    argv = [tool_path("wt-tune"), "run", "--config", str(cfg), "--out", str(tmp_path / "here")]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    # the other machine raised n_trials to 3, claimed ticket 2, beat once, and fell silent an hour ago
    storage = open_storage(postgres.url)
    study = optuna.load_study(study_name="hb-study", storage=storage)
    study.enqueue_trial({}, user_attrs={"ticket": 2})
    study.set_user_attr(TICKETS_ATTR, 3)
    (waiting,) = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert storage.set_trial_state_values(waiting._trial_id, state=TrialState.RUNNING)
    storage.set_trial_user_attr(waiting._trial_id, "worker", "survey-node-7:4242")
    storage.record_heartbeat(waiting._trial_id)
    with storage.engine.begin() as db:
        db.execute(sqlalchemy.text("UPDATE trial_heartbeats SET heartbeat = heartbeat - interval '1 hour'"))

    cfg = study_config(tmp_path / "study.yaml", target=toy("--epochs", "1"), n_trials=3, pruner={"name": "none"},
                       storage=postgres.url, study="hb-study", poll=0.2)
    again = subprocess.run([*argv[:-1], str(tmp_path / "later")], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    m = manifest_of(again)
    assert m["details"]["states"] == {"COMPLETE": 3, "FAIL": 1}  # ticket 2 run again here, not lost
    trials = trials_of(tmp_path / "later", "hb-study", postgres.url)
    assert [(t.number, t.state.name) for t in trials] == [(0, "COMPLETE"), (1, "COMPLETE"), (2, "FAIL"),
                                                          (3, "COMPLETE")]
    assert trials[3].user_attrs["retry_of"] == 2 and trials[3].user_attrs["ticket"] == 2
    assert trials[3].system_attrs["failed_trial"] == 2  # Optuna's own retry attribute
