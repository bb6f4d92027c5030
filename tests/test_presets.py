import pytest
import torch

from ltnb import presets


def test_paper_schedule_is_the_literatures():
    p = presets.PRESETS["paper"]
    assert (p.epochs, p.batch_size, p.lr, p.weight_decay, p.warmup_epochs) == (200, 128, 0.1, 2e-4, 5)
    assert p.milestone_epochs() == (160, 180) and p.drw_epoch() == 160 and p.width == 1.0


def test_cuda_asked_without_cuda():
    if torch.cuda.is_available():
        assert presets.resolve_device("cuda").type == "cuda"
    else:
        with pytest.raises(ValueError, match="this machine has no CUDA device"):
            presets.resolve_device("cuda")
