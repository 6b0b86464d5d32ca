"""The pure-torch `mmcv._ext`: mmcv's own op wrappers, fed by it, agree with torchvision and torch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def mmcv_ops():
    from wt_mmdet import ops_backend

    assert ops_backend.install() in ("pure-torch", "compiled")
    import mmcv.ops

    return mmcv.ops


def random_boxes(n: int, gen: torch.Generator, size: float = 100.0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=gen) * size
    wh = torch.rand(n, 2, generator=gen) * size / 3 + 1
    return torch.cat([xy, xy + wh], dim=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_torchvision(mmcv_ops, seed):
    from torchvision.ops import nms

    gen = torch.Generator().manual_seed(seed)
    boxes, scores = random_boxes(300, gen), torch.rand(300, generator=gen)
    dets, keep = mmcv_ops.nms(boxes, scores, iou_threshold=0.5)
    expected = nms(boxes, scores, 0.5)
    assert torch.equal(keep, expected)
    assert torch.allclose(dets[:, 4], scores[expected])


def test_batched_nms_keeps_classes_apart(mmcv_ops):
    from torchvision.ops import batched_nms

    gen = torch.Generator().manual_seed(3)
    boxes, scores = random_boxes(200, gen), torch.rand(200, generator=gen)
    labels = torch.randint(0, 4, (200,), generator=gen)
    _, keep = mmcv_ops.batched_nms(boxes, scores, labels, dict(type="nms", iou_threshold=0.6))
    assert set(keep.tolist()) == set(batched_nms(boxes, scores, labels, 0.6).tolist())


@pytest.mark.parametrize("aligned,sampling_ratio", [(True, 0), (False, 2)])
def test_roi_align_forward_and_backward_match_torchvision(mmcv_ops, aligned, sampling_ratio):
    from torchvision.ops import roi_align

    gen = torch.Generator().manual_seed(4)
    feats = torch.rand(2, 3, 32, 40, generator=gen, dtype=torch.float64)
    rois = torch.cat([torch.randint(0, 2, (20, 1), generator=gen).double(),
                      random_boxes(20, gen, size=120.0).double()], dim=1)
    a = feats.clone().requires_grad_(True)
    b = feats.clone().requires_grad_(True)
    ours = mmcv_ops.roi_align(a, rois, (7, 7), 0.25, sampling_ratio, "avg", aligned)
    ref = roi_align(b, rois, (7, 7), 0.25, sampling_ratio, aligned)
    assert torch.allclose(ours, ref, atol=1e-10)
    weight = torch.rand(ref.shape, generator=gen, dtype=torch.float64)
    (ours * weight).sum().backward()
    (ref * weight).sum().backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-10)


def test_sigmoid_focal_loss_matches_mmdets_python_version(mmcv_ops):
    import torch.nn.functional as F
    from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss

    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(50, 4, generator=gen, dtype=torch.float64)
    target = torch.randint(0, 5, (50,), generator=gen)  # 4 = background
    a = logits.clone().requires_grad_(True)
    b = logits.clone().requires_grad_(True)
    ours = mmcv_ops.sigmoid_focal_loss(a, target, 2.0, 0.25, None, "sum")
    onehot = F.one_hot(target, 5)[:, :4].to(b.dtype)
    ref = py_sigmoid_focal_loss(b, onehot, None, gamma=2.0, alpha=0.25, reduction="sum")
    assert torch.allclose(ours, ref)
    ours.backward()
    ref.backward()
    assert torch.allclose(a.grad, b.grad)


def test_an_op_it_lacks_fails_naming_the_op(mmcv_ops):
    from wt_mmdet.ops_backend import MissingOp, backend

    if backend() == "compiled":
        pytest.skip("a compiled mmcv is installed: every op exists")
    gen = torch.Generator().manual_seed(6)
    boxes, scores = random_boxes(10, gen), torch.rand(10, generator=gen)
    with pytest.raises(MissingOp, match="'softnms'"):
        mmcv_ops.soft_nms(boxes, scores, 0.5)


def test_module_has_a_spec_so_mmengines_check_passes(mmcv_ops):
    from mmengine.utils.dl_utils import mmcv_full_available

    assert mmcv_full_available()
