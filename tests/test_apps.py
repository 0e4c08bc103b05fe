import pytest
import torch

from course import apps
from course.data import SHAPE_CLASSES


def test_shape_scenes_targets_follow_torchvision_detection_format():
    images, targets = apps.shape_scenes(n=20, size=48, max_objects=3, seed=2)
    assert images.shape == (20, 3, 48, 48) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert len(targets) == 20
    for t in targets:
        boxes, labels = t["boxes"], t["labels"]
        assert boxes.dtype == torch.float32 and labels.dtype == torch.int64
        assert boxes.shape == (len(labels), 4) and 1 <= len(labels) <= 3
        assert (boxes[:, 2:] > boxes[:, :2]).all() and (boxes >= 0).all() and (boxes <= 48).all()
        assert labels.min() >= 1 and labels.max() <= len(SHAPE_CLASSES)
    again, targets2 = apps.shape_scenes(n=20, size=48, max_objects=3, seed=2)
    assert torch.equal(images, again) and all(torch.equal(a["boxes"], b["boxes"]) for a, b in zip(targets, targets2))
    assert not torch.equal(images, apps.shape_scenes(n=20, size=48, seed=3)[0])


def test_shape_scene_boxes_are_tight_around_the_drawn_pixels():
    images, targets = apps.shape_scenes(n=10, size=48, max_objects=1, noise=0.0, seed=0)
    for img, t in zip(images, targets):
        x1, y1, x2, y2 = t["boxes"][0].int().tolist()
        background = img[:, 0, 0]
        changed = (img - background[:, None, None]).abs().sum(0) > 1e-6
        ys, xs = changed.nonzero(as_tuple=True)
        assert (x1, y1, x2, y2) == (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def test_blob_volumes_masks_and_noise():
    vols, masks = apps.blob_volumes(n=6, size=12, noise=0.0, seed=1)
    assert vols.shape == masks.shape == (6, 1, 12, 12, 12)
    assert torch.equal(vols, masks)  # no noise: the signal is the mask
    assert set(masks.unique().tolist()) <= {0.0, 1.0} and (masks.sum(dim=(1, 2, 3, 4)) > 0).all()
    many = apps.blob_volumes(n=40, size=12, max_blobs=3, noise=0.0, seed=0)[1]
    assert set(many.unique().tolist()) == {0.0, 1.0}  # overlapping balls still give a 0/1 mask
    noisy, same = apps.blob_volumes(n=6, size=12, noise=0.5, seed=1)
    assert torch.equal(same, masks)
    assert 0.4 < (noisy - masks).std() < 0.6


@pytest.mark.parametrize("kwargs, text", [({"n": 0}, "n must be"), ({"size": 10}, "at least 24"),
                                          ({"noise": -1}, "noise")])
def test_shape_scenes_bad_input(kwargs, text):
    with pytest.raises(ValueError, match=text):
        apps.shape_scenes(**kwargs)


@pytest.mark.parametrize("kwargs, text", [({"max_blobs": 0}, "max_blobs"), ({"size": 4}, "at least 8"),
                                          ({"noise": "x"}, "noise")])
def test_blob_volumes_bad_input(kwargs, text):
    with pytest.raises(ValueError, match=text):
        apps.blob_volumes(**kwargs)
