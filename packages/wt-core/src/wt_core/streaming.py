"""Streaming, resumable prediction: results written as the job goes, in parts committed atomically.

A prediction job is a list of images (`wt_core.predictions.ImageRef`) in a fixed
order; an image's position in that list is its `pos`. A shard (`Shard`, "i/N")
takes the positions i, i+N, i+2N ... A worker predicts its shard's images that
no committed part holds yet and writes one JSON line per image:

    {"pos": 17, "id": 18, "file": "a/b.jpg", "width": 640, "height": 480, "results": [...]}
    {"pos": 18, "id": 19, "file": "a/c.jpg", "error": "cannot decode this image"}

Lines gather in a part that is committed every `part_size` images (or every
`PART_SECONDS`): written to a temporary file, fsynced, renamed into
`parts/<key>/`, so a part is either whole or absent. After kill -9, `--resume`
reads the committed parts, skips what they hold and predicts the rest; each
image is predicted exactly once. Memory stays flat: only one part is held.

`finalize` turns the parts (in `pos` order, a k-way merge over the shards) into
the artifacts a predictions manifest records: the COCO results JSON (written
item by item), the per-image record `records/<key>.jsonl` that a merge of
shard outputs reads, and `failures/<key>.jsonl` (path and reason per image
that could not be read).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wt_core.console import Ticker
from wt_core.errors import BadInput

if TYPE_CHECKING:
    from wt_core.blocks import BlockRule
    from wt_core.outputs import Output

PART_SECONDS = 60.0
"""A part is committed at least this often, however slow the images."""
PART_NAME = re.compile(r"^s(\d+)-(\d+)-.+\.jsonl$")

Record = dict[str, Any]
RecordFn = Callable[[Iterable[Any]], Iterator[Record]]
"""A loaded predictor as the job runs it: images (ImageRef) in, one record per image out, in any order."""


class JobImage(Protocol):
    """An image of a job as the job reads it (`wt_core.predictions.ImageRef`, or a tool's own with these fields);
    width and height are 0 where they are read with the pixels."""

    id: int
    path: Path
    file_name: str
    width: int
    height: int


@dataclass(frozen=True)
class Shard:
    """Share `index` of `count` (0-based): the images at positions index, index + count, ..."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str | None, field: str = "shard") -> Shard:
        """'i/N' (as a SLURM array or a Kubernetes indexed job gives it), 0 <= i < N; None: the whole job."""
        if text is None or str(text).strip() == "":
            return cls()
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not m or int(m[2]) < 1 or int(m[1]) >= int(m[2]):
            raise BadInput(f"a shard is 'i/N' with 0 <= i < N, got {text!r}", None, field)
        return cls(int(m[1]), int(m[2]))

    def positions(self, total: int) -> range:
        return range(self.index, total, self.count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def job_fingerprint(key: str, images: Sequence[JobImage]) -> str:
    """A digest of the job (key, then each image's position, id and file): equal for every shard of one job."""
    h = hashlib.sha256(key.encode())
    for pos, im in enumerate(images):
        window = getattr(im, "window", None)  # a block of a raster (wt_core.blocks)
        h.update(f"\n{pos}\t{im.id}\t{im.file_name}{'' if window is None else window}".encode())
    return h.hexdigest()


def parts_dir(root: Path, key: str) -> Path:
    return root / "parts" / key


def committed_parts(directory: Path, shard: int | None = None) -> list[Path]:
    """Committed part files (of one shard, or all), in (shard, first position) order."""
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = PART_NAME.match(p.name)
        if m and (shard is None or int(m[1]) == shard):
            found.append(((int(m[1]), int(m[2]), p.name), p))
    return [p for _, p in sorted(found)]


def read_lines(file: Path) -> Iterator[Record]:
    with open(file, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def done_positions(directory: Path, shard: int | None = None) -> set[int]:
    """Positions that committed parts already hold."""
    return {int(r["pos"]) for p in committed_parts(directory, shard) for r in read_lines(p)}


class PartWriter:
    """Lines gathered and committed as part files (temporary file, fsync, rename, directory fsync)."""

    def __init__(self, directory: Path, shard: int, part_size: int = 256, seconds: float = PART_SECONDS):
        self.directory, self.shard, self.part_size, self.seconds = directory, shard, max(1, part_size), seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self.first = 0
        self.started = time.monotonic()
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.committed = 0

    def add(self, record: Record) -> None:
        if not self.lines:
            self.first, self.started = int(record["pos"]), time.monotonic()
        self.first = min(self.first, int(record["pos"]))
        self.lines.append(json.dumps(record, separators=(",", ":")))
        if len(self.lines) >= self.part_size or time.monotonic() - self.started >= self.seconds:
            self.commit()

    def commit(self) -> None:
        if not self.lines:
            return
        name = f"s{self.shard:05d}-{self.first:010d}-{self.token}-{self.committed:06d}.jsonl"
        tmp = self.directory / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / name)
        _fsync_dir(self.directory)
        self.committed += 1
        self.lines = []


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def run_shard(records: RecordFn, root: Path, key: str, images: Sequence[JobImage], shard: Shard, *, part_size: int = 256,
              log: logging.Logger | None = None, desc: str | None = None) -> dict[str, int]:
    """Predict the images of `shard` that no committed part holds; {"done": already, "predicted": now}.

    `images` is the whole job (positions are indices into it). Leftover temporary parts of a killed
    writer are removed first.
    """
    directory = parts_dir(root, key)
    directory.mkdir(parents=True, exist_ok=True)
    for tmp in directory.glob(f".s{shard.index:05d}-*.tmp"):
        tmp.unlink(missing_ok=True)
    done = done_positions(directory, shard.index)
    todo = [ImageAt(pos, images[pos]) for pos in shard.positions(len(images)) if pos not in done]
    writer = PartWriter(directory, shard.index, part_size)
    # an orthomosaic's job counts its blocks (wt_core.blocks)
    unit = "blocks" if any(getattr(it.image, "window", None) is not None for it in todo) else "images"
    ticker = Ticker(len(todo), desc or f"predicting {key}", log, unit=unit)
    if done and log is not None:
        log.info("%s: %d images already predicted, %d to go", key, len(done), len(todo))
    n = 0
    for rec in records(todo):
        writer.add(rec)
        ticker.advance()
        n += 1
    writer.commit()
    ticker.close()
    if n != len(todo):
        raise RuntimeError(f"the predictor returned {n} records for {len(todo)} images")
    return {"done": len(done), "predicted": n}


@dataclass(frozen=True)
class ImageAt:
    """An image of the job at its position: what a predictor's record function receives."""

    pos: int
    image: JobImage

    @property
    def id(self) -> int:
        return self.image.id

    @property
    def path(self) -> Path:
        return self.image.path

    @property
    def file_name(self) -> str:
        return self.image.file_name

    def result(self, results: list[dict[str, Any]], width: int | None = None, height: int | None = None) -> Record:
        """The record of a predicted image (`width`, `height`: as read) or block (the whole raster's size)."""
        rec = self._head()
        w, h = width or self.image.width, height or self.image.height
        if "window" in rec:
            w, h = self.image.width, self.image.height
        if w and h:
            rec["width"], rec["height"] = int(w), int(h)
        rec["results"] = results
        return rec

    def failure(self, reason: str) -> Record:
        return {**self._head(), "error": reason}

    def _head(self) -> Record:
        rec: Record = {"pos": self.pos, "id": self.id, "file": self.file_name, "path": str(self.path)}
        window = getattr(self.image, "window", None)
        if window is not None:
            rec["window"] = list(window)
        return rec


def failure_reason(err: BaseException) -> str:
    """One line saying why an image could not be predicted."""
    text = getattr(err, "what", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())[:300]


def read_batches(items: Iterable[ImageAt], read: Callable[[ImageAt], Any], size: int
                 ) -> Iterator[tuple[list[tuple[ImageAt, Any]], list[Record]]]:
    """Images read `size` at a time for a batched predictor: (the readable ones with what `read` gave,
    failure records of those that could not be read)."""
    chunk: list[tuple[ImageAt, Any]] = []
    failed: list[Record] = []
    for it in items:
        try:
            chunk.append((it, read(it)))
        except Exception as e:  # an unreadable image is recorded, never fatal
            failed.append(it.failure(failure_reason(e)))
        if len(chunk) >= size:
            yield chunk, failed
            chunk, failed = [], []
    if chunk or failed:
        yield chunk, failed


def merged_records(streams: Sequence[Iterable[Record]]) -> Iterator[Record]:
    """Records of several streams (each in position order) in position order, a position's repeats dropped."""
    last = None
    for rec in heapq.merge(*streams, key=lambda r: int(r["pos"])):
        if rec["pos"] == last:
            continue
        last = rec["pos"]
        yield rec


def shard_stream(directory: Path, shard: int) -> Iterator[Record]:
    """One shard's committed records in position order (its parts hold increasing ranges; a retry's overlap
    with a zombie writer's part is sorted here)."""
    files = committed_parts(directory, shard)
    buffered: deque[Record] = deque()
    for f in files:
        recs = sorted(read_lines(f), key=lambda r: int(r["pos"]))
        if not recs:
            continue
        lo = recs[0]["pos"]
        # parts come in order of their first position: everything below this part's first is final
        while buffered and buffered[0]["pos"] < lo:
            yield buffered.popleft()
        buffered = deque(heapq.merge(buffered, recs, key=lambda r: int(r["pos"])))
    yield from buffered


@dataclass
class Finished:
    """What `finalize` wrote: artifact names, counts (images, units that failed, boxes, blocks of rasters)."""

    predictions: str
    images: int
    failures: int
    boxes: int
    indexed: list[dict[str, Any]]
    blocks: int = 0


ImageSink = Callable[[Record], None]
"""Called with each image's final record (a raster's blocks merged), in the job's order."""


def finalize(output: Output, key: str, streams: Sequence[Iterable[Record]], expected: Iterable[int],
             index: bool = False, rule: BlockRule | None = None, sink: ImageSink | None = None) -> Finished:
    """Write `predictions/<key>.json`, `records/<key>.jsonl` and `failures/<key>.jsonl` from `streams`.

    `expected`: the positions the output must hold, each exactly once (checked; missing ones are an error).
    The records file keeps every unit's record (a raster's blocks one by one, for `wt-eval merge`); the
    predictions hold one image's boxes once, a raster's blocks merged by `rule` (`wt_core.blocks`).
    With `index`, the {id, file_name, width, height} of each image predicted is returned (an image
    folder's images.json). `sink` sees each image's record as it is written (GeoJSON and GeoPackage files).
    """
    from wt_core.blocks import whole_images

    want = sorted(set(expected))
    rel_pred, rel_rec, rel_fail = f"predictions/{key}.json", f"records/{key}.jsonl", f"failures/{key}.jsonl"
    n_img = n_fail = n_box = n_block = 0
    got: list[int] = []
    indexed: list[dict[str, Any]] = []
    with open(output.path(rel_pred), "w", encoding="utf-8") as pred, \
            open(output.path(rel_rec), "w", encoding="utf-8") as rec_f, \
            open(output.path(rel_fail), "w", encoding="utf-8") as fail:
        pred.write("[")
        first = True

        def units() -> Iterator[Record]:
            nonlocal n_fail, n_block
            for unit in merged_records(streams):
                got.append(int(unit["pos"]))
                rec_f.write(json.dumps(unit, separators=(",", ":")) + "\n")
                n_block += "window" in unit
                if "error" in unit:
                    n_fail += 1
                    where = {"window": unit["window"]} if "window" in unit else {}
                    fail.write(json.dumps({"image_id": unit["id"], "file_name": unit["file"], "path": unit.get("path"),
                                           **where, "reason": unit["error"]}) + "\n")
                yield unit

        for rec in whole_images(units(), rule):
            n_img += 1
            if "error" in rec:
                continue
            if index:
                indexed.append({"id": rec["id"], "file_name": rec["path"],
                                "width": rec.get("width", 0), "height": rec.get("height", 0)})
            for r in rec["results"]:
                pred.write(("" if first else ",") + json.dumps(r))
                first = False
                n_box += 1
            if sink is not None:
                sink(rec)
        pred.write("]")
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        raise BadInput(f"the job's images are not all predicted exactly once: {len(missing)} missing, "
                       f"{len(extra)} not of this job", output.dir, "parts")
    name = f"predictions.{key}"
    output.add(name, rel_pred)
    output.add(f"records.{key}", rel_rec)
    output.add(f"failures.{key}", rel_fail)
    return Finished(name, n_img, n_fail, n_box, indexed, n_block)
