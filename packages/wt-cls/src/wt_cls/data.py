"""`ClassificationDataModule`: a classification dataset manifest as Lightning dataloaders.

torchvision v2 transforms (configurable, with defaults for small crops), and
the imbalance tools that act on data: class weights for the loss (inverse
frequency or effective number of samples) and a weighted random sampler.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from torchvision.transforms import v2
from wt_core.errors import BadInput

from wt_cls.config import IMAGENET_MEAN, IMAGENET_STD
from wt_cls.dataset import ClassificationData, Item, TrainVal, read_classification, train_val_items


class UnreadableImage(OSError):
    """An image that fails to decode while loading (its path is in the message)."""


def eval_transform(input_size: int, mean: list[float], std: list[float]) -> v2.Compose:
    """Resize to a square (no crop: detector crops keep their edges), to float, normalise."""
    return v2.Compose([
        v2.ToImage(),
        v2.Resize((input_size, input_size), antialias=True),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ])


def train_transform(input_size: int, mean: list[float], std: list[float], augment: str = "default",
                    scale_min: float = 0.6, hflip: bool = True, color_jitter: float = 0.2) -> v2.Compose:
    """The training transform: `default` (random resized crop, flip, jitter), `light` (flip) or `none`."""
    steps: list[Callable] = [v2.ToImage()]
    if augment == "default":
        steps.append(v2.RandomResizedCrop((input_size, input_size), scale=(scale_min, 1.0), antialias=True))
    else:
        steps.append(v2.Resize((input_size, input_size), antialias=True))
    if augment != "none" and hflip:
        steps.append(v2.RandomHorizontalFlip())
    if augment == "default" and color_jitter > 0:
        steps.append(v2.ColorJitter(color_jitter, color_jitter, color_jitter))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    return v2.Compose(steps)


def load_rgb(path: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, SyntaxError, ValueError) as e:
        raise UnreadableImage(f"unreadable image: {path} ({type(e).__name__}: {e})") from None


class ImageList(Dataset):
    """(path, label) pairs as (tensor, label), through a transform."""

    def __init__(self, items: list[Item], transform: Callable):
        self.items = list(items)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        return self.transform(load_rgb(path)), label


def class_weights(counts: list[int], kind: str = "inverse", beta: float = 0.999) -> list[float] | None:
    """Loss weights per class, normalised to a mean of 1 over the classes present.

    `inverse`: 1 / n_c. `effective`: (1 - beta) / (1 - beta^n_c) (Cui et al., 2019).
    """
    if kind == "none":
        return None
    raw = []
    for n in counts:
        if n <= 0:
            raw.append(0.0)
        elif kind == "inverse":
            raw.append(1.0 / n)
        else:
            raw.append((1.0 - beta) / (1.0 - beta**n))
    present = [w for w in raw if w > 0]
    scale = len(present) / sum(present)
    return [w * scale for w in raw]


class ClassificationDataModule(L.LightningDataModule):
    """Dataloaders from a classification dataset manifest (task classify).

    Args:
        dataset: A dataset manifest (file, directory or '-'), or already read `ClassificationData`.
        input_size: Square input size.
        mean: Normalisation mean (default ImageNet's).
        std: Normalisation std (default ImageNet's).
        batch_size: Images per batch.
        num_workers: DataLoader workers.
        sampler: none or weighted (inverse class frequency, with replacement).
        augment: default, light or none.
        scale_min: Smallest area of the random resized crop.
        hflip: Random horizontal flips.
        color_jitter: Colour jitter strength.
        train_split: Split to train on.
        val_split: Split to validate on (held out from train when missing).
        val_fraction: Held-out fraction when there is no validation split.
        test_split: Split `trainer.test` uses.
        predict_split: Split `trainer.predict` uses.
        seed: Seed of the hold-out and of the sampler.
        items: The train and val images already chosen (`wt_cls.dataset.train_val_items`, as `wt-cls fit` does);
            then train_split, val_split and val_fraction are not used.
        train_transforms: A transform replacing the default training one.
        eval_transforms: A transform replacing the default evaluation one.
    """

    def __init__(self, dataset: str | Path | ClassificationData, input_size: int = 224,
                 mean: list[float] | None = None, std: list[float] | None = None, batch_size: int = 32,
                 num_workers: int = 2, sampler: str = "none", augment: str = "default", scale_min: float = 0.6,
                 hflip: bool = True, color_jitter: float = 0.2, train_split: str = "train", val_split: str = "val",
                 val_fraction: float = 0.2, test_split: str = "test", predict_split: str | None = None,
                 seed: int = 0, train_transforms: Callable | None = None, eval_transforms: Callable | None = None,
                 items: TrainVal | None = None):
        super().__init__()
        self.data = dataset if isinstance(dataset, ClassificationData) else read_classification(dataset)
        self.mean, self.std = list(mean or IMAGENET_MEAN), list(std or IMAGENET_STD)
        self.input_size, self.batch_size, self.num_workers = input_size, batch_size, num_workers
        self.sampler, self.seed = sampler, seed
        self.train_tf = train_transforms or train_transform(input_size, self.mean, self.std, augment, scale_min,
                                                            hflip, color_jitter)
        self.eval_tf = eval_transforms or eval_transform(input_size, self.mean, self.std)
        self.train_split, self.val_split, self.test_split = train_split, val_split, test_split
        self.predict_split = predict_split or test_split
        if items is None:
            items = train_val_items(self.data, train_split, val_split if val_split in self.data.splits else None,
                                    val_fraction, seed)
        self.train_items, self.val_items, self.val_source = items.train, items.val, items.val_source
        self.train_split, self.val_split = items.train_split, items.val_split or val_split
        if not self.train_items:
            raise BadInput(f"split {self.train_split!r} has no labelled images", self.data.manifest.path, "splits")

    @property
    def classes(self) -> list[str]:
        return self.data.classes

    def train_counts(self) -> list[int]:
        out = [0] * len(self.classes)
        for _, label in self.train_items:
            out[label] += 1
        return out

    def class_weights(self, kind: str = "inverse", beta: float = 0.999) -> list[float] | None:
        """Loss weights from the training counts (see `class_weights`)."""
        return class_weights(self.train_counts(), kind, beta)

    def _loader(self, items: list[Item], transform: Callable, train: bool = False) -> DataLoader:
        sampler = None
        if train and self.sampler == "weighted":
            counts = self.train_counts()
            weights = torch.tensor([1.0 / counts[label] for _, label in items], dtype=torch.double)
            sampler = WeightedRandomSampler(weights, num_samples=len(items), replacement=True,
                                            generator=torch.Generator().manual_seed(self.seed))
        return DataLoader(ImageList(items, transform), batch_size=self.batch_size, shuffle=train and sampler is None,
                          sampler=sampler, num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
                          drop_last=False, pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_items, self.train_tf, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_items, self.eval_tf)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.data.split(self.test_split), self.eval_tf)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.data.split(self.predict_split), self.eval_tf)
