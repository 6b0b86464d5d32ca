"""Benchmark: mmcv's ops through wt-mmdet's pure-torch `mmcv._ext` against bare torchvision.

The backend is a thin adapter, so the ratio shows its overhead (mmcv's wrappers plus ours).
Prints one table to stdout. `--quick` uses fewer boxes and repeats.
"""

from __future__ import annotations

import argparse
import time


def timed(fn, repeat: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n, rois, repeat = (1000, 128, 5) if args.quick else (5000, 512, 20)

    from wt_mmdet import ops_backend

    backend = ops_backend.install()
    import mmcv.ops
    import torch
    import torchvision.ops as tv

    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(n, 2, generator=gen) * 600
    boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=gen) * 80 + 4], 1)
    scores = torch.rand(n, generator=gen)
    feats = torch.rand(2, 64, 100, 100, generator=gen)
    r = torch.cat([torch.randint(0, 2, (rois, 1), generator=gen).float(), boxes[:rois] / 6], 1)

    rows = [
        ("nms", timed(lambda: tv.nms(boxes, scores, 0.5), repeat),
         timed(lambda: mmcv.ops.nms(boxes, scores, 0.5), repeat)),
        ("roi_align 7x7", timed(lambda: tv.roi_align(feats, r, (7, 7), 1.0, 0, True), repeat),
         timed(lambda: mmcv.ops.roi_align(feats, r, (7, 7), 1.0, 0, "avg", True), repeat)),
    ]
    print(f"mmcv ops backend: {backend}; {n} boxes, {rois} RoIs, CPU")
    print(f"{'op':<16}{'torchvision ms':>16}{'mmcv.ops ms':>14}{'ratio':>8}")
    for name, bare, ours in rows:
        print(f"{name:<16}{bare:>16.3f}{ours:>14.3f}{ours / bare:>8.2f}")


if __name__ == "__main__":
    main()
