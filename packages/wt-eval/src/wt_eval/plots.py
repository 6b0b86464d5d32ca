"""PNG plots beside an evaluation manifest (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curves(path: Path, classes: list[str], precision: np.ndarray, recall_thresholds: np.ndarray,
              ap50: dict[str, float]) -> None:
    """COCO precision against recall at IoU 0.5, one line per class (area all, max 100 detections)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for k, name in enumerate(classes):
        p = precision[0, :, k, 0, -1]
        if (p < 0).all():
            continue
        ax.plot(recall_thresholds, np.clip(p, 0, None), label=f"{name} AP50={ap50.get(name, 0):.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall (IoU 0.5)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def f1_curves(path: Path, grid: np.ndarray, f1: dict[str, np.ndarray], best: tuple[float, float]) -> None:
    """F1 against the score threshold, per class and for all classes."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for name, values in f1.items():
        if name == "all":
            continue
        ax.plot(grid, values, linewidth=1, label=name)
    ax.plot(grid, f1["all"], color="black", linewidth=2.5, label=f"all (best {best[1]:.3f} at {best[0]:.3f})")
    ax.set(xlabel="score threshold", ylabel="F1", xlim=(0, 1), ylim=(0, 1.02), title="F1 against score threshold")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def confusion(path: Path, labels: list[str], counts: np.ndarray, normalised: np.ndarray, title: str,
              xlabel: str = "true", ylabel: str = "predicted") -> None:
    """A confusion matrix: colour by the normalised value, each cell also showing its count."""
    plt = _plt()
    n = len(labels)
    size = max(4.0, 0.7 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=100)
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                colour = "white" if normalised[i, j] > 0.5 else "black"
                ax.text(j, i, f"{counts[i, j]}\n{normalised[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color=colour)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
