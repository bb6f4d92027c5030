import pytest
import torch

from ltnb import presets


def test_auto_preset(monkeypatch):
    monkeypatch.delenv("LTNB_PRESET", raising=False)
    assert presets.resolve_preset("auto", torch.device("cpu"))[0].name == "cpu"
    assert presets.resolve_preset("auto", torch.device("cuda"))[0].name == "paper"
    monkeypatch.setenv("LTNB_PRESET", "smoke")
    p, why = presets.resolve_preset("auto", torch.device("cpu"))
    assert p.name == "smoke" and "LTNB_PRESET" in why
    assert presets.resolve_preset("paper")[0].epochs == 200


def test_paper_schedule_is_the_literatures():
    p = presets.PRESETS["paper"]
    assert (p.epochs, p.batch_size, p.lr, p.weight_decay, p.warmup_epochs) == (200, 128, 0.1, 2e-4, 5)
    assert p.milestone_epochs() == (160, 180) and p.drw_epoch() == 160 and p.width == 1.0


def test_setup_announces_and_stamps(capsys):
    ctx = presets.setup("fmnist", 50, "smoke", [0, 1], "cpu")
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("ltnb · fmnist-LT imb 50 · preset smoke · seeds 0,1 · cpu")
    assert ctx.seeds == (0, 1) and "preset smoke" in ctx.stamp


@pytest.mark.parametrize("kw, err", [
    (dict(dataset="imagenet"), "unknown dataset"),
    (dict(imb=0.5), "imb must be >= 1"),
    (dict(imb="lots"), "imb must be a number"),
    (dict(preset="fast"), "unknown preset"),
])
def test_setup_rejects_bad_parameters_early(kw, err):
    args = dict(dataset="fmnist", imb=100, preset="smoke", seed=0, device="cpu") | kw
    with pytest.raises(ValueError, match=err):
        presets.setup(**args, verbose=False)


def test_setup_missing_cifar_fails_fast_with_instructions(tmp_path, monkeypatch):
    from ltnb.data import DatasetNotFound

    monkeypatch.setenv("LTNB_DATA", str(tmp_path))
    monkeypatch.setenv("LTNB_OFFLINE", "1")
    with pytest.raises(DatasetNotFound, match="cifar-100-python.tar.gz"):
        presets.setup("cifar100", 100, "smoke", 0, "cpu", verbose=False)


def test_cuda_asked_without_cuda():
    if torch.cuda.is_available():
        assert presets.resolve_device("cuda").type == "cuda"
    else:
        with pytest.raises(ValueError, match="CUDA is not available"):
            presets.resolve_device("cuda")
