"""`wt-data validate`: every problem of an annotation source, without writing anything."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from wt_core.console import print_table
from wt_core.errors import BadInput
from wt_core.invocation import command

from wt_data.canon import ClassMap, Metadata, canonicalize
from wt_data.imaging import Check
from wt_data.importing import Format, parse_sources, read_raw
from wt_data.problems import Problem, Problems


@command("wt-data", "validate")
def validate(source: Path | list[str], format: Format = "coco", images: Path | None = None,
             task: Literal["auto", "detect", "classify"] = "auto", tolerance: float = 2.0, check: Check = "decode",
             classes: ClassMap = ClassMap(), meta: Metadata = Metadata(), limit: int = 50,
             json: bool = False) -> dict[str, Any] | None:
    """Report every problem an import would meet (missing or corrupt images, bad boxes, unknown classes).

    Args:
        source: The annotation file or root, as for import (format dataset: a dataset manifest; one file per
            split as `--source train=a.json --source val=b.json`).
        format: The annotation format.
        images: The image root file names start from (default: where the format's own tools look).
        task: detect or classify (auto: from the format and the annotations).
        tolerance: Pixels a box may lie beyond the image before it counts as a problem.
        check: How images are checked: decode fully, read the header only, or none.
        classes: Class renames, merges, drops and order, as for import.
        meta: Per-image metadata, as for import.
        limit: Problems listed in the table (the JSON lists all; the counts always cover all).
        json: Print one JSON document on stdout instead of a table on stderr.
    """
    problems = Problems("collect")
    fatal: Problem | None = None
    counts: dict[str, dict[str, int]] = {}
    try:
        raw = read_raw(source, format, images, problems, task)
        class_list, splits = canonicalize(raw, problems, cmap=classes, meta=meta, check=check, tolerance=tolerance)
        counts = {name: {"images": len(c["images"]), "boxes": sum(1 for a in c["annotations"] if "bbox" in a)}
                  for name, (c, _) in splits.items()}
    except BadInput as e:  # a problem that stops reading altogether
        fatal = Problem("fatal", e.message, e.file, e.field, "stopped")
    items = problems.items + ([fatal] if fatal else [])
    by_reason = Counter(p.reason for p in items)
    doc = {"ok": not items, "source": ", ".join(str(p.absolute()) for _, p in parse_sources(source)), "format": format, "splits": counts,
           "problems_by_reason": dict(sorted(by_reason.items())),
           "problems": [{"reason": p.reason, "message": p.message, "file": p.file, "where": p.where} for p in items]}
    if json:
        return doc
    rows = [[p.reason, p.file or "", p.where or "", p.message] for p in items[:limit]]
    print_table(f"{len(items)} problems" + (f" (first {limit})" if len(items) > limit else ""),
                ["reason", "file", "where", "message"], rows)
    print_table("problems by reason", ["reason", "count"], [[k, v] for k, v in doc["problems_by_reason"].items()])
    return None
