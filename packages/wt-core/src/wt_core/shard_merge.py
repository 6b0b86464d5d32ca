"""`wt-eval merge`: the outputs of the N shards of one prediction job (`predict --shard i/N`) as one manifest.

The shards must be one job cut one way: the same images (the job's digest),
the same N, each index 0..N-1 once, the same run, dataset, classes,
thresholds and slicing. Their per-image records are merged in the job's order
and checked to cover every image of the job exactly once; the manifest written
is the one an unsharded run writes (COCO results per split, failures counted; a raster's blocks,
spread over the shards, merged across block edges by the rule its shards recorded, `details.blocks`,
and its map files written, `details.geo`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wt_core import console
from wt_core.blocks import BlockRule
from wt_core.errors import BadInput
from wt_core.geo_output import GeoWriter
from wt_core.invocation import command
from wt_core.manifest import ManifestBase, PredictionsManifest
from wt_core.manifest_io import build, locate_parent, read_manifest
from wt_core.outputs import Output
from wt_core.streaming import finalize, read_lines

log = console.get_logger("wt-eval")
SAME = ("task", "classes", "run_id", "dataset_id", "thresholds", "slicing")


@command("wt-eval", "merge")
def merge(shards: list[Path], out: Path | None = None, overwrite: bool = False) -> PredictionsManifest:
    """Merge the predictions of the N shards of one job (predict --shard i/N) into one predictions manifest.

    Args:
        shards: The N shard outputs (manifest files or directories), in any order.
        out: The output directory (default runs/eval/merge/<id>).
        overwrite: Replace an existing output directory.
    """
    if not shards:
        raise BadInput("give the shard outputs to merge", None, "shards")
    ms = [read_manifest(s, "predictions", expect=PredictionsManifest) for s in shards]
    first = ms[0]
    info = [_shard_of(m) for m in ms]
    count, job, key = info[0]["count"], info[0]["job"], info[0]["key"]
    for m, sh in zip(ms, info, strict=True):
        if (sh["job"], sh["count"], sh["key"]) != (job, count, key):
            raise BadInput("this shard is of another job (other images, split or shard count)", m.path, "details.shard")
        for field in SAME:
            if getattr(m, field) != getattr(first, field):
                raise BadInput(f"this shard's {field} differs from {first.path}'s", m.path, field)
    indexes = sorted(sh["index"] for sh in info)
    if indexes != list(range(count)):
        missing = sorted(set(range(count)) - set(indexes))
        twice = sorted({i for i in indexes if indexes.count(i) > 1})
        raise BadInput(f"the shards of a job of {count} must each be given once: "
                       f"missing {missing or 'none'}, given twice {twice or 'none'}", None, "shards")
    output = Output("wt-eval", "merge", out, overwrite=overwrite)
    folder = "images" in first.artifacts
    georef: dict[str, dict[str, Any]] = {}
    for m in ms:
        for k, v in m.georef.items():
            georef.setdefault(k, {}).update({i: g.model_dump() if hasattr(g, "model_dump") else g
                                             for i, g in v.items()})
    blocks = first.details.get("blocks")
    geo = first.details.get("geo")
    writer = None
    if geo:  # the rasters' map files, written now that each raster's blocks are all here
        writer = GeoWriter(output, key, geo["format"], list(first.classes),
                           {int(i): g for i, g in georef.get(key, {}).items()})
    streams = [read_lines(m.artifact_path(f"records.{key}")) for m in ms]
    fin = finalize(output, key, streams, range(info[0]["job_images"]), index=folder,
                   rule=BlockRule.from_record({k: v for k, v in blocks.items() if k != "units"} if blocks else None),
                   sink=writer)
    details: dict[str, Any] = {k: v for k, v in first.details.items()
                               if k not in ("shard", "images", "failures", "warnings")}
    details.update(images={key: fin.images}, failures={key: fin.failures}, merged=[m.id for m in ms])
    if blocks:
        details["blocks"] = {**blocks, "units": {key: fin.blocks}}
    if writer is not None:
        details["geo"] = writer.details()
    if folder:
        from wt_core.predictions import write_image_index

        write_image_index(output, fin.indexed, first.details.get("image_folder", ""))
    parents: list[ManifestBase] = [read_manifest(locate_parent(first, p)) for p in first.parents]
    merged = build(PredictionsManifest, id=output.id, parents=parents, task=first.task, classes=list(first.classes),
                   dataset_id=first.dataset_id, run_id=first.run_id, splits={key: fin.predictions},
                   thresholds=first.thresholds, slicing=first.slicing, georef=georef, details=details)
    log.info("%s: %d shards merged, %d images, %d boxes, %d failed", key, count, fin.images, fin.boxes, fin.failures)
    return output.commit(merged)


def _shard_of(m: PredictionsManifest) -> dict[str, Any]:
    sh = m.details.get("shard")
    if not isinstance(sh, dict) or f"records.{sh.get('key')}" not in m.artifacts:
        raise BadInput("not the output of one shard (predict --shard i/N)", m.path, "details.shard")
    return sh
