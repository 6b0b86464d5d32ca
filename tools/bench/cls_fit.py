"""Benchmark: `wt-cls fit` against a bare Lightning loop (same model, data, batch, epochs), in one run.

    python tools/bench/cls_fit.py [--quick] [--per-class 60] [--epochs 3] [--backbone test_efficientnet_gn]

Both run as fresh subprocesses on the same generated images (tools/synth.py,
imported with `wt-data import --format imagefolder`). Training throughput is
images per second over the epochs after the first (each epoch timed from its
start to its end, validation included, by a callback in both); the wall time
of the whole command (imports, MLflow, manifest) is shown beside it. The goal
is a throughput ratio (wt-cls / bare) of at least 0.97.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

BARE = r'''
import json, sys, time
import lightning as L, timm, torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

root, size, batch, epochs, backbone, lr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
manifest = json.load(open(root + "/manifest.json"))

def items(split):
    s = manifest["splits"][split]
    coco = json.load(open(root + "/" + manifest["artifacts"][s["annotations"]]["path"]))
    label = {a["image_id"]: a["category_id"] for a in coco["annotations"]}
    return [(s["image_root"] + "/" + im["file_name"], label[im["id"]]) for im in coco["images"]]

tf = v2.Compose([v2.ToImage(), v2.Resize((size, size), antialias=True), v2.ToDtype(torch.float32, scale=True),
                 v2.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

class Images(Dataset):
    def __init__(self, items): self.items = items
    def __len__(self): return len(self.items)
    def __getitem__(self, i):
        p, y = self.items[i]
        with Image.open(p) as im:
            return tf(im.convert("RGB")), y

class Net(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = timm.create_model(backbone, num_classes=len(manifest["classes"]))
    def forward(self, x): return self.net(x)
    def training_step(self, b, i):
        return torch.nn.functional.cross_entropy(self(b[0]), b[1])
    def validation_step(self, b, i):
        self.log("val_loss", torch.nn.functional.cross_entropy(self(b[0]), b[1]))
    def configure_optimizers(self): return torch.optim.AdamW(self.parameters(), lr=lr, weight_decay=1e-4)

class Timer(L.Callback):
    def on_train_epoch_start(self, t, m): self.t = time.perf_counter()
    def on_train_epoch_end(self, t, m): print("EPOCH", time.perf_counter() - self.t, flush=True)

L.seed_everything(0, verbose=False)
trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, callbacks=[Timer()])
trainer.fit(Net(), DataLoader(Images(items("train")), batch_size=batch, shuffle=True),
            DataLoader(Images(items("val")), batch_size=batch))
'''


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run (about a minute on 2 cores)")
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--backbone", default="test_efficientnet_gn")
    args = ap.parse_args()
    if args.quick:
        args.per_class, args.epochs = 30, 2
    import synth

    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="wt-bench-cls-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{base / 'mlflow.db'}", "WT_HOME": str(base / "home")}
        synth.make_camtrap(base / "img" / "train", per_class=args.per_class, seed=0, size=args.size)
        synth.make_camtrap(base / "img" / "val", per_class=max(4, args.per_class // 3), seed=1, size=args.size)
        subprocess.run([str(bin_dir / "wt-data"), "import", "--source", str(base / "img"), "--format", "imagefolder",
                        "--out", str(base / "ds")], check=True, capture_output=True, env=env)
        n_train = len(json.loads((base / "ds" / "manifest.json").read_text())["classes"]) * args.per_class

        t0 = time.perf_counter()
        bare = subprocess.run([sys.executable, "-c", BARE, str(base / "ds"), str(args.size), str(args.batch),
                               str(args.epochs), args.backbone, "0.005"], capture_output=True, text=True, env=env)
        bare_wall = time.perf_counter() - t0
        if bare.returncode != 0:
            sys.stderr.write(bare.stderr[-3000:])
            return 1
        bare_epochs = [float(line.split()[1]) for line in bare.stdout.splitlines() if line.startswith("EPOCH")]

        t0 = time.perf_counter()
        ours = subprocess.run([str(bin_dir / "wt-cls"), "fit", "--dataset", str(base / "ds"), "--out", str(base / "run"),
                               "--model.backbone", args.backbone, "--train.imgsz", str(args.size),
                               "--train.batch", str(args.batch), "--train.workers", "0", "--loader.augment", "none",
                               "--train.lr", "0.005", "--scheduler.name", "none", "--train.epochs",
                               str(args.epochs), "--trainer.progress_bar", "false"],
                              capture_output=True, text=True, env=env)
        ours_wall = time.perf_counter() - t0
        if ours.returncode != 0:
            sys.stderr.write(ours.stderr[-3000:])
            return 1
        rows = [json.loads(line) for line in (base / "run" / "metrics.jsonl").read_text().splitlines()]
        ours_epochs = [r["epoch_s"] for r in rows]

    def rate(epochs: list[float]) -> float:
        timed = epochs[1:] or epochs  # the first epoch pays for warm-up in both
        return n_train * len(timed) / sum(timed)

    r_bare, r_ours = rate(bare_epochs), rate(ours_epochs)
    print(f"wt-cls fit vs bare Lightning: {args.backbone} {args.size}px, {n_train} train images, batch {args.batch}, "
          f"{args.epochs} epochs, 0 workers")
    print(f"{'':<22}{'images/s':>10}{'wall s':>10}")
    print(f"{'bare Lightning loop':<22}{r_bare:>10.1f}{bare_wall:>10.1f}")
    print(f"{'wt-cls fit':<22}{r_ours:>10.1f}{ours_wall:>10.1f}")
    print(f"{'ratio (goal >= 0.97)':<22}{r_ours / r_bare:>10.3f}{bare_wall / ours_wall:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
