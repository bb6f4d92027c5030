"""Whole training steps recorded once as CUDA graphs and replayed: one launch per step instead of hundreds."""
from __future__ import annotations

import warnings

import torch


class GraphedStep:
    """Runs ``step(inputs)`` eagerly for ``warmup`` calls, then records it per ``key`` and replays it.

    ``step`` must be a function of its input tensors alone: every random number, the learning
    rate and anything else that changes between steps comes in through ``inputs`` or through
    tensors updated in place (a recorded graph replays the same kernels on the same memory).
    A new ``key`` (e.g. the loss switching to DRW weights) records a new graph. The eager
    warm-up steps are real steps; they also create the optimizer's state before recording.
    """

    def __init__(self, step, warmup: int = 3):
        self.step, self.warmup, self.calls = step, warmup, 0
        self.graphs: dict = {}
        self.failed = False
        self.side = torch.cuda.Stream()

    def __call__(self, key, inputs: dict) -> None:
        self.calls += 1
        if self.calls <= self.warmup:
            self.side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side):
                self.step(inputs)
            torch.cuda.current_stream().wait_stream(self.side)
            return
        if self.failed:
            self.step(inputs)
            return
        if key not in self.graphs:
            static = _clone(inputs)
            torch.cuda.synchronize()
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph):
                    self.step(static)
            except RuntimeError as err:  # an op that cannot be recorded: go on eagerly, and say so
                warnings.warn(f"recording the training step as a CUDA graph failed ({err}); training eagerly")
                self.failed = True
                torch.cuda.synchronize()
                self.step(inputs)
                return
            self.graphs[key] = (graph, static)
        graph, static = self.graphs[key]
        _copy(static, inputs)
        graph.replay()


def _clone(v):
    """A copy of the step's inputs in fresh memory, whatever their nesting: a dict of tensors and lists of
    tensors for one run, a list of such dicts for stacked runs."""
    if isinstance(v, dict):
        return {k: _clone(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_clone(x) for x in v)
    return v.clone()


def _copy(dst, src) -> None:
    """Write ``src`` into the recorded inputs ``dst`` (same nesting, same shapes)."""
    if isinstance(dst, dict):
        if dst.keys() != src.keys():
            raise ValueError(f"a recorded step's inputs changed: {sorted(dst)} then {sorted(src)}")
        for k in dst:
            _copy(dst[k], src[k])
    elif isinstance(dst, (list, tuple)):
        if len(dst) != len(src):
            raise ValueError(f"a recorded step's inputs changed: {len(dst)} then {len(src)} entries")
        for d, x in zip(dst, src):
            _copy(d, x)
    else:
        dst.copy_(src, non_blocking=True)
