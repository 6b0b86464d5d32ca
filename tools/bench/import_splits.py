"""`wt-data import` of a COCO set with one file per split, against reading the same inputs by hand.

    python tools/bench/import_splits.py [--images 10000] [--boxes 8] [--cores 0,1] [--repeat 3]

Generates N small JPEGs (256x192) and three COCO files (train 70 %, val 20 %, test 10 %,
`--boxes` boxes per image), then measures, pinned to the given cores:
- json: `json.load` of the three files (the floor: parsing alone);
- json+headers: the same plus PIL opening every image's header (what `--check header` must read);
- wt-data: `wt-data import --source train=... --source val=... --source test=... --check header`
  (the CLI in a subprocess: start-up, parsing, checks, class mapping, writing the dataset).
Prints the median seconds of each and the ratios wt-data / json and wt-data / json+headers.
The machine may be shared: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_set(root: Path, n: int, boxes: int) -> dict[str, Path]:
    from PIL import Image

    rng = random.Random(0)
    (root / "images").mkdir(parents=True)
    tile = Image.new("RGB", (256, 192), (90, 110, 70))
    tile.save(root / "images" / "base.jpg", quality=80)
    data = (root / "images" / "base.jpg").read_bytes()
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(["elephant", "giraffe", "zebra"])]
    parts = {"train": [], "val": [], "test": []}
    ann_id = 1
    for i in range(n):
        name = f"img_{i:05d}.jpg"
        (root / "images" / name).write_bytes(data)
        split = "train" if i % 10 < 7 else "val" if i % 10 < 9 else "test"
        anns = []
        for _ in range(boxes):
            w, h = rng.uniform(8, 40), rng.uniform(8, 40)
            anns.append({"id": ann_id, "image_id": i + 1, "category_id": rng.randint(1, 3),
                         "bbox": [round(rng.uniform(0, 256 - w), 2), round(rng.uniform(0, 192 - h), 2), round(w, 2),
                                  round(h, 2)], "area": round(w * h, 2), "iscrowd": 0})
            ann_id += 1
        parts[split].append(({"id": i + 1, "file_name": name, "width": 256, "height": 192}, anns))
    files = {}
    for split, items in parts.items():
        doc = {"images": [im for im, _ in items], "annotations": [a for _, anns in items for a in anns], "categories": cats}
        files[split] = root / f"{split}.json"
        files[split].write_text(json.dumps(doc))
    return files


def timed(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--boxes", type=int, default=8)
    ap.add_argument("--cores", default="0,1")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    cores = {int(c) for c in a.cores.split(",")}
    os.sched_setaffinity(0, cores)
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        files = make_set(root, a.images, a.boxes)
        print(f"generated {a.images} images, {a.images * a.boxes} boxes in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        def just_json():
            for f in files.values():
                json.loads(f.read_text())

        def json_and_headers():
            for f in files.values():
                for im in json.loads(f.read_text())["images"]:
                    with Image.open(root / "images" / im["file_name"]) as img:
                        img.size  # noqa: B018

        exe = Path(sys.executable).parent / "wt-data"
        n = [0]

        def wt_import():
            n[0] += 1
            cmd = [str(exe), "import", *(x for s, f in files.items() for x in ("--source", f"{s}={f}")),
                   "--check", "header", "--out", str(root / f"out{n[0]}")]
            subprocess.run(cmd, check=True, capture_output=True, text=True)

        res = {"json": timed(just_json, a.repeat), "json+headers": timed(json_and_headers, a.repeat),
               "wt-data import": timed(wt_import, a.repeat)}
        out = json.loads((root / "out1" / "manifest.json").read_text())
        assert {k: v["images"] for k, v in out["splits"].items()} == {"train": a.images * 7 // 10,
                                                                        "val": a.images * 2 // 10, "test": a.images // 10}
    print(f"{a.images} images in 3 split files, cores {sorted(cores)}:")
    for k, v in res.items():
        print(f"  {k:16s} {v:7.2f} s")
    print(f"  ratio wt-data / json: {res['wt-data import'] / res['json']:.1f}; "
          f"wt-data / json+headers: {res['wt-data import'] / res['json+headers']:.2f}")


if __name__ == "__main__":
    main()
