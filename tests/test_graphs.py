"""GraphedStep's record-and-replay logic, on the CPU with a stand-in for CUDA graphs: a recorded step reads
its inputs from the memory it was recorded on, for one run's inputs and for a stack's list of them."""
import contextlib

import pytest
import torch

from ltnb.training import graphs
from ltnb.presets import PRESETS
from ltnb.runs.train import RunConfig
from ltnb.training import batches, common, stage1


class FakeCUDA:
    """Enough of torch.cuda for GraphedStep: recording stores the step, replaying calls it on the recorded
    inputs (as a CUDA graph replays its kernels on the memory it captured), never on the new ones."""

    def __init__(self):
        self.capturing = None

    def install(self, monkeypatch):
        stream = type("S", (), {"wait_stream": lambda self, other: None})()
        monkeypatch.setattr(torch.cuda, "Stream", lambda: stream)
        monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
        monkeypatch.setattr(torch.cuda, "current_stream", lambda: stream)
        monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
        monkeypatch.setattr(torch.cuda, "CUDAGraph", lambda: type("G", (), {"replay": lambda g: g.fn()})())
        fake = self

        @contextlib.contextmanager
        def graph(g):
            fake.capturing = g
            yield
            fake.capturing = None
        monkeypatch.setattr(torch.cuda, "graph", graph)

    def step(self, body):
        """``body(inputs)`` run eagerly, or recorded on ``inputs`` while a graph captures."""
        def run(inputs):
            if self.capturing is not None:
                self.capturing.fn = lambda: body(inputs)
            else:
                body(inputs)
        return run


def stack_inputs(seed: int):
    """A stack's step inputs: one dict per run (crops, flips, mixup's lambda and permutation, GCL's noise)."""
    lt = common.dataset("fmnist", 100)
    out = []
    for k, cfg in enumerate([RunConfig(preset="smoke", seed=0),
                             RunConfig(preset="smoke", seed=1, loss="gcl", mixup_alpha=1.0,
                                       extra=(("cloud", "log"), ("noise_mul", 0.5), ("s", 30.0)))]):
        g = torch.Generator().manual_seed(seed * 10 + k)
        plan = batches.epoch_plan(cfg, lt.train.labels, lt.counts, PRESETS["smoke"], g, 0)[:1]
        st = batches.epoch_draws(plan, g, lt.info.pad, cfg.mixup_alpha, batches.gcl_noise_draws(cfg), 10, "cpu")
        inp = stage1.step_inputs(st[0])
        if "lam" in inp:  # on CUDA mixup's lambda is a device scalar (a recorded step reads it): as there
            inp["lam"] = torch.tensor(inp["lam"])
        out.append(inp)
    return out


def total(inputs) -> torch.Tensor:
    leaves = []
    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        else:
            leaves.append(v.double().sum())
    walk(inputs)
    return torch.stack(leaves).sum()


@pytest.mark.parametrize("stacked", [False, True])
def test_a_recorded_step_replays_on_each_new_input(monkeypatch, stacked):
    fake = FakeCUDA()
    fake.install(monkeypatch)
    seen = []
    step = graphs.GraphedStep(fake.step(lambda inp: seen.append(float(total(inp)))), warmup=1)
    inputs = [stack_inputs(i) if stacked else stack_inputs(i)[1] for i in range(4)]
    for inp in inputs:
        step("phase", inp)
    assert seen == pytest.approx([float(total(inp)) for inp in inputs])  # the warm-up, then 3 replays
    assert len(set(seen)) == 4 and not step.failed and list(step.graphs) == ["phase"]


def test_inputs_that_change_shape_are_refused():
    a, b = stack_inputs(0), stack_inputs(1)
    static = graphs._clone(a)
    assert static[0]["idx"].data_ptr() != a[0]["idx"].data_ptr()  # fresh memory
    graphs._copy(static, b)
    assert all(torch.equal(static[k]["idx"], b[k]["idx"]) for k in range(2))
    with pytest.raises(ValueError, match="inputs changed"):
        graphs._copy(static, b[:1])
