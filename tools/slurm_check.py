"""The README's SLURM examples run on a real SLURM: a developer's check, not part of CI.

    nice -n 10 uv run python tools/slurm_check.py [--photos 32] [--keep DIR]

Runs what packages/wt-core/README.md ("Survey scale") shows, taken from the README itself (the blocks
marked `tools/slurm_check.py runs this ...`), with only what must differ on one machine without a GPU
replaced (the array's size, the run, the images, `--device`, the spec's cores, memory, queue and GPU
directive; each replacement must match once, so a changed example fails here until this file follows):

  (a) the array job: `sbatch predict.sbatch` (--array=0-3, `--shard $SLURM_ARRAY_TASK_ID/$N`) and the merge
      submitted with `--dependency=afterok`; task 3 is cancelled mid-shard (once it has committed a part
      of one photo, `--part_size 1`), the first merge then never runs, task 3 is submitted again alone as the README
      says (`sbatch --array=3`, so SLURM_ARRAY_TASK_COUNT is 1 there) and the merge again: the merged
      predictions must equal an unsharded run's box for box, every photo once;
  (b) `wt-yolo predict --dask.cluster slurm.yaml` with the README's dask_jobqueue.SLURMCluster spec: the
      workers must be SLURM jobs while it runs, the result must equal the unsharded run's, and no worker
      job may be left once the command has ended;
  (c) the same spec with a partition SLURM does not have: one error line (exit 2), no output, nothing queued.

SLURM: when `sinfo` answers (a cluster configured for this user) it is used, and only the jobs this
check submits are cancelled. Otherwise a one-node SLURM is started by hand under a temporary folder
(Debian's packages: `apt-get install slurm-wlm munge`; root, no systemd, no cgroups): munged, slurmctld
and slurmd with a minimal slurm.conf (2 CPUs, select/cons_tres, proctrack/linuxproc), and stopped at the
end, whatever happened. A detector is trained for one epoch on synthetic survey photos (as the tests
make theirs) and `--photos` small photos are predicted. Torch runs on one thread in every process
(OMP_NUM_THREADS=1), so the processes compare alike. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "packages" / "wt-core" / "README.md"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))

SHARDS = 4
PREDICT = ["--conf", "0.001", "--slicing.tile", "0"]  # as tests/yolo/test_predict_scale.py predicts


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(*cmd: str | Path, cwd: Path | None = None, check: bool = True, timeout: float = 900) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.stdout


def readme_blocks() -> list[str]:
    """The README's code blocks that this check runs, in order (each follows a marker comment)."""
    text = README.read_text()
    blocks = re.findall(r"<!-- tools/slurm_check\.py runs this[^>]*-->\n```\w*\n(.*?)```", text, re.S)
    if len(blocks) != 3:
        raise SystemExit(f"FAIL {README}: expected 3 marked blocks (sbatch file, submission, spec), found {len(blocks)}")
    return blocks


def replace_once(text: str, old: str, new: str, what: str) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"FAIL the README's {what} no longer holds {old!r} once: update tools/slurm_check.py")
    return text.replace(old, new)


class Slurm:
    """A one-node SLURM started by hand under `base` (or the one `sinfo` already answers for)."""

    def __init__(self, base: Path):
        self.base = base
        self.own = False
        self.jobs: list[str] = []
        self.pids: dict[str, int] = {}

    def start(self) -> None:
        if subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0:
            say("sinfo answers: using the SLURM configured here")
            return
        for exe in ("munged", "slurmctld", "slurmd", "sbatch"):
            if shutil.which(exe) is None and not Path(f"/usr/sbin/{exe}").exists():
                raise SystemExit(f"FAIL no {exe}: apt-get install -y slurm-wlm munge")
        self.own = True
        b = self.base
        for d in (b.parent, b):
            d.chmod(0o755)  # munged wants every folder above its socket searchable by all
        for d in ("munge", "sock", "state", "spool", "log"):
            (b / d).mkdir()
        (b / "munge").chmod(0o700)
        key = b / "munge" / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o400)
        sock = b / "sock" / "munge.sock"
        sh("/usr/sbin/munged", f"--key-file={key}", f"--socket={sock}", f"--pid-file={b}/munge/munged.pid",
           f"--log-file={b}/log/munged.log", f"--seed-file={b}/munge/seed")
        self.pids["munged"] = int((b / "munge" / "munged.pid").read_text())
        host = socket.gethostname()
        ctl, node = _free_port(), _free_port()
        conf = b / "slurm.conf"
        conf.write_text(f"""ClusterName=wtcheck
SlurmctldHost={host}
SlurmctldPort={ctl}
SlurmdPort={node}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={b}/slurmctld.pid
SlurmdPidFile={b}/slurmd.pid
SlurmctldLogFile={b}/log/slurmctld.log
SlurmdLogFile={b}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName={host} CPUs=2 RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
        os.environ["SLURM_CONF"] = str(conf)  # every sbatch, squeue ... of this check and of its jobs
        sh("/usr/sbin/slurmctld", "-f", conf)
        self.pids["slurmctld"] = _pid_file(b / "slurmctld.pid")
        sh("/usr/sbin/slurmd", "-f", conf)
        self.pids["slurmd"] = _pid_file(b / "slurmd.pid")
        deadline = time.monotonic() + 120
        while "idle" not in sh("sinfo", "-h", "-o", "%T", check=False):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the node did not come up: {sh('sinfo', check=False)}")
            time.sleep(0.5)
        say(f"started {sh('sinfo', '-V').strip()}: munged, slurmctld, slurmd "
            f"(pids {self.pids}); one node {host}, 2 CPUs, partition debug; config in {b}")

    def sbatch(self, *args: str, cwd: Path) -> str:
        jid = sh("sbatch", "--parsable", *args, cwd=cwd).strip().split(";")[0]
        self.jobs.append(jid)
        return jid

    def state(self, jid: str) -> tuple[str, str]:
        """(state, reason) of a job or array task in the queue; ("", "") once it has left the queue."""
        out = sh("squeue", "-h", "-j", jid, "-o", "%T|%r", check=False).strip().splitlines()
        return tuple(out[0].split("|", 1)) if out else ("", "")  # type: ignore[return-value]

    def wait(self, jids: list[str], timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while any(self.queued(j) for j in jids):
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs {jids} still queued after {timeout} s:\n{sh('squeue', check=False)}")
            time.sleep(1)

    def queued(self, jid: str) -> bool:
        return bool(sh("squeue", "-h", "-j", jid, "-o", "%i", check=False).strip())

    def mine_queued(self) -> list[str]:
        """This check's jobs (and the workers its Dask cluster submitted, named wt-slurm-check) still queued."""
        out = sh("squeue", "-h", "-o", "%i|%j", check=False).split()
        return [line for line in out if line.split("|")[0].split("_")[0] in self.jobs
                or line.endswith("|wt-slurm-check")]

    def stop(self) -> list[str]:
        """Cancel this check's jobs, stop what was started; what is still running afterwards (must be nothing)."""
        left = []
        try:
            ids = [line.split("|")[0] for line in self.mine_queued()]
            if ids:
                sh("scancel", *ids, check=False)
                self.wait(ids, timeout=60)
        except Exception as e:  # stopping goes on
            left.append(f"jobs: {e}")
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.get(name)
            if pid is None:
                continue
            _kill(pid)
            if _alive(pid):
                left.append(f"{name} {pid}")
        for pid in _slurmstepd_pids():  # job steps of our slurmd outliving it
            if self.own:
                _kill(pid)
            if _alive(pid):
                left.append(f"slurmstepd {pid}")
        return left


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _pid_file(path: Path, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no pid file {path}")
        time.sleep(0.1)
    return int(path.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _kill(pid: int, timeout: float = 30) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(1)


def _slurmstepd_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "cmdline").read_bytes().startswith(b"slurmstepd"):
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def tool(name: str, *args: str | Path, cwd: Path) -> Path:
    """Run a WildTrain command; the directory of the manifest it wrote."""
    out = sh(BIN / name, *args, cwd=cwd)
    return Path(out.strip()).parent


def results(out: Path) -> tuple[dict, list[dict]]:
    m = json.loads((out / "manifest.json").read_text())
    return m, json.loads((out / m["artifacts"][m["splits"]["images"]]["path"]).read_text())


def same_as(out: Path, baseline: Path, photos: int) -> list[str]:
    """What differs from the unsharded run (as tests/yolo/test_predict_scale.py compares): nothing when exact."""
    m, boxes = results(out)
    _, want = results(baseline)
    problems = []
    if boxes != want:
        problems.append(f"{len(boxes)} boxes against {len(want)}, or not the same boxes")
    if m["details"]["images"] != {"images": photos}:
        problems.append(f"details.images {m['details']['images']}")
    records = [json.loads(x) for x in (out / "records" / "images.jsonl").read_text().splitlines()]
    if [r["pos"] for r in records] != list(range(photos)):
        problems.append("the records are not every photo once in the job's order")
    if json.loads((out / "images.json").read_text()) != json.loads((baseline / "images.json").read_text()):
        problems.append("images.json differs")
    return problems


def make_detector(work: Path, photos: int) -> tuple[Path, Path]:
    """A yolo11n run trained one epoch on synthetic survey tiles, and `photos` small survey photos."""
    import synth

    synth.make_aerial(work / "train-raw", images=4, seed=5, width=1280, height=960, sites=4, empty_every=0)
    imported = tool("wt-data", "import", "--source", work / "train-raw" / "coco.json", "--out", work / "imported", cwd=work)
    full = tool("wt-data", "split", "--dataset", imported, "--ratios", "[0.75, 0.25]", "--names", "[train, val]",
                "--stratify", "false", "--out", work / "full", cwd=work)
    tiles = tool("wt-data", "tile", "--dataset", full, "--size", "640", "--overlap", "0.2", "--out", work / "tiles",
                 cwd=work)
    run = tool("wt-yolo", "fit", "--dataset", tiles, "--model", "yolo11n.yaml", "--train.epochs", "1",
               "--train.imgsz", "320", "--train.batch", "8", "--train.workers", "0", "--device", "cpu",
               "--ultralytics.plots", "false", "--out", work / "run", cwd=work)
    synth.make_aerial(work / "survey", images=photos, seed=11, width=320, height=240, sites=3, empty_every=5)
    return run, work / "survey" / "images"


def check_array(slurm: Slurm, work: Path, run: Path, photos: Path, baseline: Path, n: int) -> list[str]:
    script, submit, _ = readme_blocks()
    last = SHARDS - 1
    script = replace_once(script, "--array=0-7 --gres=gpu:1 --cpus-per-task=4", f"--array=0-{last} --cpus-per-task=1",
                          "sbatch file")
    script = replace_once(script, "N=8", f"N={SHARDS}", "sbatch file")
    script = replace_once(script, "--run run/ --images /survey/2026 --device 0",
                          f"--run {run} --images {photos} --device cpu {' '.join(PREDICT)} --part_size 1",
                          "sbatch file")
    submit = replace_once(submit, "{0..7}", f"{{0..{last}}}", "submission")
    (work / "predict.sbatch").write_text(script)
    say("predict.sbatch as run:\n" + script)
    submit_line, merge_line = submit.strip().splitlines()
    if submit_line != "jid=$(sbatch --parsable predict.sbatch)":
        raise SystemExit(f"FAIL the README's submission changed: {submit_line!r}")
    started = time.monotonic()
    jid = slurm.sbatch("predict.sbatch", cwd=work)
    # the merge line as written (with --parsable, to learn its id), run by bash with $jid set
    merge1 = sh("bash", "-c", f"jid={jid}; {merge_line.replace('sbatch ', 'sbatch --parsable ', 1)}", cwd=work).strip()
    slurm.jobs.append(merge1)
    say(f"submitted array job {jid} (tasks 0-{last}) and merge {merge1} (afterok:{jid})")

    # task `last` cancelled mid-shard, once it has committed a part (it waits for a CPU while 0 and 1 run)
    task = f"{jid}_{last}"
    parts = work / "pred" / f"shard-{last}.partial" / "parts" / "images"
    how = ""
    deadline = time.monotonic() + 600
    while not how:
        committed = len(list(parts.glob("s*.jsonl"))) if parts.is_dir() else 0
        if committed:
            sh("scancel", task)
            how = f"while running, after {committed} committed part(s) of one photo (of {n // SHARDS})"
        elif slurm.state(task)[0] in ("", "COMPLETED", "COMPLETING"):
            how = "not at all: it finished first"
        elif time.monotonic() > deadline:
            raise RuntimeError(f"task {task} did not run")
        time.sleep(0.02)
    say(f"cancelled task {task} {how}")
    slurm.wait([jid])
    problems = []
    if "not at all" not in how:
        deadline = time.monotonic() + 60
        while (reason := slurm.state(merge1)[1]) != "DependencyNeverSatisfied" and time.monotonic() < deadline:
            time.sleep(1)
        say(f"merge {merge1}: {slurm.state(merge1)}")
        if reason != "DependencyNeverSatisfied":
            problems.append(f"the first merge is {slurm.state(merge1)}, not waiting on DependencyNeverSatisfied")
        sh("scancel", merge1)
        partial = work / "pred" / f"shard-{last}.partial"
        say(f"pred/shard-{last}.partial {'holds ' + str(len(list(parts.glob('s*.jsonl')))) + ' parts' if partial.exists() else 'absent'}")
        # the rerun of one task, as the README says
        rerun = slurm.sbatch(f"--array={last}", "predict.sbatch", cwd=work)
        merge2 = sh("bash", "-c", f"jid={rerun}; {merge_line.replace('sbatch ', 'sbatch --parsable ', 1)}", cwd=work).strip()
        slurm.jobs.append(merge2)
        say(f"task {last} submitted again alone as {rerun} (SLURM_ARRAY_TASK_COUNT=1 there), merge again as {merge2}")
        slurm.wait([rerun, merge2])
        log = (work / f"slurm-{rerun}_{last}.out")
        text = log.read_text() if log.exists() else ""
        m = re.search(r"(\d+) images already predicted", text)
        say(f"rerun of task {last}: {m.group(0) if m else 'no images were already predicted'}")
        if partial.exists() and not m:
            problems.append("the rerun did not continue the cancelled shard's committed parts")
    else:
        slurm.wait([merge1])
    elapsed = time.monotonic() - started
    merged = work / "pred" / "all"
    if not (merged / "manifest.json").exists():
        logs = "\n".join(f"{p.name}: {p.read_text()[-1500:]}" for p in sorted(work.glob("slurm-*.out")))
        return [*problems, f"no merged manifest at {merged}; job logs:\n{logs}"]
    m, boxes = results(merged)
    say(f"(a) array of {SHARDS} shards + merge: {m['details']['images']['images']} photos, {len(boxes)} boxes, "
        f"{elapsed:.0f} s from the first sbatch to the merged manifest")
    return problems + same_as(merged, baseline, n)


def check_dask(slurm: Slurm, work: Path, run: Path, photos: Path, baseline: Path, n: int) -> list[str]:
    spec = yaml.safe_load(readme_blocks()[2])
    opts = spec["options"]
    if spec.get("class") != "dask_jobqueue.SLURMCluster" or opts.get("job_extra_directives") != ["--gres=gpu:1"]:
        raise SystemExit(f"FAIL the README's spec changed: {spec}: update tools/slurm_check.py")
    # local: 2 jobs of one core (the node has 2 CPUs), no GPU directive; the rest (processes, the workers'
    # GPU resource, so --dask.gpus 1 is what a GPU cluster would run) as written
    spec["jobs"] = 2
    opts.update(cores=1, memory="2GB", queue=sh("sinfo", "-h", "-o", "%R").split()[0], job_extra_directives=[],
                job_name="wt-slurm-check", log_directory=str(work / "dask-logs"))
    (work / "slurm.yaml").write_text(yaml.safe_dump(spec))
    say(f"slurm.yaml as run: {spec}")
    cmd = [BIN / "wt-yolo", "predict", "--run", run, "--images", photos, "--device", "cpu", *PREDICT,
           "--dask.cluster", work / "slurm.yaml", "--dask.gpus", "1", "--out", work / "pred-dask"]
    started = time.monotonic()
    proc = subprocess.Popen([str(c) for c in cmd], cwd=work, stdout=subprocess.PIPE, stderr=open(work / "dask.log", "w"),
                            text=True)
    seen: set[str] = set()
    while proc.poll() is None:
        for line in sh("squeue", "-h", "-n", "wt-slurm-check", "-o", "%i|%T", check=False).split():
            jid, st = line.split("|")
            if st == "RUNNING":
                seen.add(jid)
        time.sleep(0.5)
    out, _ = proc.communicate()
    elapsed = time.monotonic() - started
    problems = []
    if proc.returncode != 0:
        return [f"wt-yolo predict --dask.cluster exited {proc.returncode}:\n{(work / 'dask.log').read_text()[-3000:]}"]
    time.sleep(2)
    left = sh("squeue", "-h", "-n", "wt-slurm-check", "-o", "%i|%T", check=False).split()
    say(f"(b) Dask on SLURMCluster: worker jobs seen running {sorted(seen)}; left in the queue after the command: "
        f"{left or 'none'}; {elapsed:.0f} s for the command")
    if len(seen) < 1:
        problems.append("no SLURM job of the cluster was seen running")
    if left:
        problems.append(f"the cluster's worker jobs outlived the command: {left}")
    d = Path(out.strip()).parent
    m, boxes = results(d)
    say(f"(b) {m['details']['images']['images']} photos, {len(boxes)} boxes")
    return problems + same_as(d, baseline, n)


def check_refused(slurm: Slurm, work: Path, run: Path, photos: Path, baseline: Path, n: int) -> list[str]:
    """The spec with a partition this SLURM does not have: one error line, exit 2, nothing left queued."""
    spec = yaml.safe_load((work / "slurm.yaml").read_text())
    spec["options"]["queue"] = "wt-no-such-partition"
    (work / "refused.yaml").write_text(yaml.safe_dump(spec))
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "wt-yolo"), "predict", "--run", str(run), "--images", str(photos), "--device", "cpu",
                           *PREDICT, "--dask.cluster", str(work / "refused.yaml"), "--out", str(work / "pred-refused")],
                          capture_output=True, text=True, cwd=work, timeout=300)
    lines = proc.stderr.strip().splitlines()
    say(f"(c) a partition SLURM does not have: exit {proc.returncode} in {time.monotonic() - started:.0f} s, "
        f"last line: {lines[-1] if lines else ''}")
    problems = []
    if proc.returncode != 2 or not lines or not lines[-1].startswith("error: ") or "Traceback" in proc.stderr:
        problems.append(f"not one error line with exit 2:\n{proc.stderr[-2000:]}")
    if (work / "pred-refused").exists() or (work / "pred-refused.partial").exists():
        problems.append("an output was left")
    if sh("squeue", "-h", "-n", "wt-slurm-check", check=False).strip():
        problems.append("a worker job was left queued")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=32, help="photos to predict (320 x 240)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one, removed)")
    a = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="wt-slurm-check-"))
    work = (a.keep or base / "work").resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", WT_HOME=str(work / "home"),
                      MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}", MLFLOW_DISABLE_TELEMETRY="true",
                      YOLO_OFFLINE="1", PATH=f"{BIN}:{os.environ['PATH']}")
    slurm = Slurm(base / "slurm")
    (base / "slurm").mkdir()
    failed: list[str] = []
    try:
        slurm.start()
        t = time.monotonic()
        run, photos = make_detector(work, a.photos)
        say(f"detector trained (1 epoch) and {a.photos} photos made in {time.monotonic() - t:.0f} s")
        t = time.monotonic()
        baseline = tool("wt-yolo", "predict", "--run", run, "--images", photos, "--device", "cpu", *PREDICT,
                        "--out", work / "pred-one", cwd=work)
        _, boxes = results(baseline)
        say(f"unsharded run: {a.photos} photos, {len(boxes)} boxes in {time.monotonic() - t:.0f} s (one process)")
        if len(boxes) <= a.photos:
            failed.append("the unsharded run found too few boxes for the comparisons to mean anything")
        for name, check in (("array", check_array), ("dask", check_dask), ("dask-refused", check_refused)):
            problems = check(slurm, work, run, photos, baseline, a.photos)
            print(("FAIL " if problems else "PASS ") + name + "".join(f"\n  {p}" for p in problems), flush=True)
            failed += problems
    except Exception as e:  # reported, then everything is stopped
        failed.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {failed[-1]}", flush=True)
    finally:
        left = slurm.stop()
        if slurm.own:
            say("stopped slurmd, slurmctld, munged" + (f"; STILL RUNNING: {left}" if left else "; nothing left running"))
        if left:
            failed.append(f"left running: {left}")
        if a.keep is None and not failed:
            shutil.rmtree(base, ignore_errors=True)
        else:
            say(f"kept {base} and {work}")
    print("FAIL" if failed else "PASS", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
