import json

from ltnb import bench


def test_bench_runs_both_pipelines_and_saves(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert bench.main(["--device", "cpu", "--steps", "2", "--concurrent", "--stacked", "2", "--workers", "0", "--compile",
                       "--save", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ltnb trainer (" in text and "reference (DataLoader+PIL, fp32)" in text and "speed-up" in text
    assert "2 stacked ltnb runs (aggregate; per run)" in text and "stacked against alone" in text
    r = json.loads(out.read_text())
    assert r["train_images"] == 12406 and r["ltnb_images_per_second"] > 0 and r["reference_images_per_second"] > 0
    s = r["stacked"][0]
    assert s["runs"] == 2 and s["aggregate_images_per_second"] == 2 * s["per_run_images_per_second"] > 0
    assert 0 <= r["stacked_tolerance"]["loss_relative"] < 0.05
    lay = r["layouts"]  # measured, not asserted faster: the ratio depends on the machine
    assert len(lay["channels_last"]) == len(lay["contiguous"]) == 3 and lay["median_ratio"] > 0
    assert "channels-last over contiguous" in text


def test_synthetic_set_has_the_cifar10_lt_sizes():
    lt = bench.synthetic_lt(n_test=20)
    assert lt.counts.tolist()[0] == 5000 and len(lt.train) == 12406 and lt.train.images.shape[1:] == (3, 32, 32)


def test_a_bench_stopped_midway_keeps_what_it_measured(tmp_path, monkeypatch):
    import pytest

    def stopped(*a, **k):
        raise KeyboardInterrupt  # a time limit reached during the concurrent rows

    monkeypatch.setattr(bench, "concurrent", stopped)
    out = tmp_path / "b.json"
    with pytest.raises(KeyboardInterrupt):
        bench.main(["--device", "cpu", "--steps", "2", "--concurrent", "2", "--stacked", "2", "--workers", "0", "--compile",
                    "--save", str(out)])
    r = json.loads(out.read_text())
    assert r["ltnb_images_per_second"] > 0 and r["stacked"][0]["runs"] == 2 and "stacked_tolerance" in r
    assert r["concurrent"] == []
