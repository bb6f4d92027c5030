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
            static = {k: _clone(v) for k, v in inputs.items()}
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
        for k, v in inputs.items():
            _copy(static[k], v)
        graph.replay()


def _clone(v):
    return [t.clone() for t in v] if isinstance(v, list) else v.clone()


def _copy(dst, src):
    if isinstance(dst, list):
        for d, s in zip(dst, src):
            d.copy_(s, non_blocking=True)
    else:
        dst.copy_(src, non_blocking=True)
