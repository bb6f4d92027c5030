"""The one stage-1 training loop, for a run alone (:func:`ltnb.training.stage1.fit`) and for K runs stacked into one
network (:func:`ltnb.training.stacked.fit_stacked`): the restore from a checkpoint, the epochs, each run's history, the
checkpoint at every epoch boundary and the final statistics. What differs, the step, stays with each caller."""
from __future__ import annotations

import time

import torch

from ltnb.training import checkpoint

HISTORY_KEYS = ("epoch", "loss", "train_acc", "lr", "test_acc", "test_per_class", "head_grad_norm")


class Loop:
    """Epochs ``start`` to ``epochs`` of ``model`` under ``opt`` for K runs (``head_grads`` and ``gens``, one each).

    ``stacked``: the checkpoint keeps K histories and gradient buffers (a stack's), else the one run's as they are
    (a run alone): the two checkpoint layouts stay as they were, so a run resumes from what an older loop wrote.
    Constructed after the model, optimiser and generators drew their first random numbers: a checkpoint sets the
    generators as its epoch left them.
    """

    def __init__(self, model, opt, head_grads: list, gens: list, epochs: int, bar, ckpt=None, stacked: bool = False):
        self.model, self.opt, self.head_grads, self.gens, self.stacked = model, opt, head_grads, gens, stacked
        self.total_epochs, self.bar, self.ckpt = epochs, bar, ckpt
        self.histories = [{k: [] for k in HISTORY_KEYS} for _ in head_grads]
        self.t0, self.seen, self.n_step, self.eval_seconds = time.time(), 0, 0, 0.0
        self.start, self.resumed, self.failed_before = 0, [], False
        self.graph = None  # the caller's GraphedStep, if any: whether it failed goes into the checkpoint
        saved = ckpt.load() if ckpt is not None else None
        if saved is not None:
            self._restore(saved)

    def _restore(self, saved: dict) -> None:
        self.model.load_state_dict(saved["model"])
        checkpoint.load_optimizer(self.opt, saved["opt"])
        for hg, (total, count) in zip(self.head_grads, saved["head_grads"] if self.stacked else [saved["head_grads"]]):
            hg.total.copy_(total)
            hg.steps.copy_(count)
        checkpoint.set_rng_state(saved["rng"], self.gens)
        self.histories = saved["history"] if self.stacked else [saved["history"]]
        self.start, self.seen, self.n_step = saved["epoch"], saved["seen"], saved["n_step"]
        self.eval_seconds, self.t0 = saved["eval_seconds"], time.time() - saved["elapsed"]
        self.resumed, self.failed_before = self.ckpt.resumed_at, saved["cuda_graphs_failed"]
        self.bar.update(self.start)

    def epochs(self):
        """The epochs left to train, each timed for the checkpoint's budget."""
        for epoch in range(self.start, self.total_epochs):
            self.t_epoch = time.time()
            yield epoch

    def snapshot(self, epoch: int) -> dict:
        """What the next epoch reads."""
        grads = [[hg.total, hg.steps] for hg in self.head_grads]
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "rng": checkpoint.rng_state(self.gens),
                "head_grads": grads if self.stacked else grads[0],
                "history": self.histories if self.stacked else self.histories[0], "epoch": epoch + 1,
                "seen": self.seen, "n_step": self.n_step, "eval_seconds": self.eval_seconds,
                "elapsed": time.time() - self.t0, "cuda_graphs_failed": self.graph_failed}

    @property
    def graph_failed(self) -> bool:
        return bool(self.graph is not None and self.graph.failed)

    def epoch_done(self, epoch: int, images: int, sums: list, evals: list) -> None:
        """Log the epoch: ``images`` seen by each run, ``sums`` its (summed loss, correct predictions), ``evals`` its
        (test accuracy, per-class test accuracy); then the checkpoint boundary (which may stop the run)."""
        self.seen += images * len(self.histories)
        lr = float(self.opt.param_groups[0]["lr"])
        for h, (loss, correct), (acc, per_class), hg in zip(self.histories, sums, evals, self.head_grads):
            h["epoch"].append(epoch + 1)
            h["loss"].append(loss / max(images, 1))
            h["train_acc"].append(correct / max(images, 1))
            h["lr"].append(lr)
            h["test_acc"].append(acc)
            h["test_per_class"].append(per_class)
            h["head_grad_norm"].append(hg.pop())
        first = self.histories[0]
        self.bar.set_postfix(loss=f"{first['loss'][-1]:.3f}", acc=f"{first['train_acc'][-1]:.3f}")
        self.bar.update(1)
        checkpoint.boundary(self.ckpt, epoch + 1, self.total_epochs, time.time() - self.t_epoch,
                            lambda: self.snapshot(epoch))

    def finish(self, device: torch.device, graphed: bool) -> dict:
        """The statistics every run's history ends with: the loop's seconds (the test evaluations apart), its
        images per second, whether the CUDA graphs held, and the epochs a resumed run was resumed after."""
        self.bar.close()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.time() - self.t0 - self.eval_seconds
        return {"eval_seconds": self.eval_seconds, "seconds": seconds,
                "images_per_second": self.seen / max(seconds, 1e-9),
                "cuda_graphs": graphed and not self.graph_failed and not self.failed_before,
                **({"resumed_at": self.resumed} if self.resumed else {})}
