"""Each paper's reproducibility summary, in the form of the ML Reproducibility Challenge's reports: the scope (which
claims, where the paper makes them), the method, the results at the book's headline setting (counted from the verdicts,
never typed), what was easy, what was difficult, and every departure from the paper. ``make book`` writes one per
overview page (``book/papers/summaries/PAPER.md``); a test keeps the committed ones equal to what the recordings give.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import torch

from ltnb import claims
from ltnb.data import dataset_info
from ltnb.chapters import SWEEPS_AT
from ltnb.chapters.leaderboard import DEPARTURES, setting_name
from ltnb.claims.evidence import recorded_settings, verdicts_at, where_claimed
from ltnb.claims.reads import SEEDS_READ, UNNAMED_FACTOR, Setting
from ltnb.presets import PRESETS, auto_presets
from ltnb.stats import FAILS, HOLDS, MISSING, NOISE, SMALLER, TOO_FEW, UNTESTABLE


# What reproducing each paper took, in the book's words: engineering, not results (the results are counted).
EASY = {
    "gcl": "The cloud sizes (Eq. 9), the clouded cosine logits (Eqs. 11-12) and the CBEN sampler (Eqs. 13-14) are "
           "written out in full, and the two stages map onto the book's one-stage trainer and stage-2 fitters.",
    "marr": "MARR is a re-trained classifier on a frozen backbone with a closed-form re-weighting (Eqs. 11-12): it "
            "fits in seconds on stored features, so its sweeps (Figure 4, Table 7) cost nothing beyond the backbones.",
    "angular": "The angular reading (Eq. 1) and ABS (Eqs. 7-9) are post hoc: they read a trained network's features, "
               "so most of the paper's tables are views of runs the book trains anyway.",
    "lgla": "CLA and AAW (Eqs. 3-8) are short logit adjustments on the experts' outputs; the multi-expert ResNet-32 "
            "trains in the book's stage-1 loop like any other network.",
    "whitening": "Channel whitening (Eq. 13) is one layer before the classifier, and B3RS (Eqs. 14-15) a batch plan "
                 "the book's sampler code draws exactly; both have small hand-checked tests.",
}
DIFFICULT = {
    "gcl": "The official code departs from the paper in stage 2 (a focal term, CBEN's constants, the sampler), so "
           "'the paper's GCL' and 'the code's GCL' are two runs; the book trains both (the leaderboard's paper "
           "against code table).",
    "marr": "The paper leaves the loss normalisation open and its backbones for Table 7 are trained at other factors "
            "than the fitting set; the book keeps the like-for-like pairing explicit.",
    "angular": "Pruning (Fig. 6) needs many short scoring runs per fraction, and the MiSLAS stage 2 it builds on has "
               "details (smoothed targets, BN shift) settled only by its official code.",
    "lgla": "The class groups of the local experts are not fully specified (the official code cuts them its own "
            "way), and the expert count, RandAugment and the expert type multiply the runs: the sweeps are hours of "
            "CPU.",
    "whitening": "BET's CIFAR settings are partly missing (no T2 for CIFAR), and the paper's six imbalance factors "
                 "with and without each part make the largest grid of the book.",
}


def headline(dataset: str = "fmnist") -> Setting | None:
    """The book's headline setting: imbalance 100 at the preset the chapters' ``auto`` rule offers first among those
    where CE is recorded (:func:`ltnb.presets.auto_presets` on the CPU: paper, then long, then cpu), every seed read."""
    candidates, _ = auto_presets("auto", torch.device("cpu"))
    found = {s.preset: s for s in recorded_settings(dataset, candidates) if s.imb == 100.0}
    for preset in candidates:
        if preset in found:
            return replace(found[preset], seeds=SEEDS_READ)
    return None


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


def _tally(n: Counter) -> str:
    """Verdict counts in words, every verdict named (zeros too, so that the sum reads as the whole)."""
    words = [(HOLDS, "hold", "holds"), (FAILS, "do not hold", "does not hold"),
             (SMALLER, "are smaller than the paper's own gap", "is smaller than the paper's own gap"),
             (NOISE, "cannot be told from the runs' noise", "cannot be told from the runs' noise"),
             (TOO_FEW, "have too few seeds yet", "has too few seeds yet"),
             (MISSING, "are not recorded", "is not recorded"), (UNTESTABLE, "read as not testable", "reads as not testable")]
    return ", ".join(f"{n[v]} {one if n[v] == 1 else many}" for v, many, one in words if n[v] or v not in (MISSING, UNTESTABLE))


def _places(cs) -> str:
    """Where the chapters show the claims: each figure or table once, with the chapter when it is not the paper's."""
    seen = []
    for c in cs:
        place = c.figure + ("" if c.chapter == c.paper else f" of the {c.chapter} chapter")
        if c.figure and place not in seen:
            seen.append(place)
    return ", ".join(seen)


def summary(paper: str, dataset: str = "fmnist") -> str:
    """The reproducibility summary of ``paper`` (a chapter name), as Markdown for its overview page."""
    cs = [c for c in claims.CLAIMS if c.paper == paper]
    testable = [c for c in cs if c.kind != "untestable"]
    s = headline(dataset)
    lines = ["## Reproducibility summary", "",
             "*In the form of the ML Reproducibility Challenge's reports. Every count is computed from the book's "
             "recorded runs when the book is built (`make book`); the Claims page lists each verdict.*", "",
             f"**Scope.** The paper's {len(cs)} checkable claims, in the book's words; {len(testable)} of them the "
             f"book tests on its own runs, beside the tables and figures they rest on ({_places(testable)}). "
             f"{len(cs) - len(testable)} are not testable here (ImageNet-LT or ViT only, methods the book does not "
             "train, or no measurement the paper defines); the Claims page says why for each.", ""]
    if s is None:
        lines += ["**Results.** Nothing is recorded yet at imbalance 100: `make record` records the runs.", ""]
    else:
        p = PRESETS[s.preset]
        at = verdicts_at(s)[0]
        here = [c for c in testable if where_claimed(c, s.imb)]
        beyond = [c for c in testable if not where_claimed(c, s.imb)]
        n = Counter(at[c.id].verdict for c in here)
        nb = Counter(at[c.id].verdict for c in beyond)
        lines += [f"**Method.** The book's own implementation (no code of the paper's), a ResNet-32 at width "
                  f"{p.width:g} on {dataset}-LT (CIFAR cannot be downloaded here), {p.epochs} epochs at the headline "
                  f"preset `{s.preset}`; a verdict reads every recorded seed, needs 3 a side, and is Welch's (or the "
                  "paired) 95% interval with the false discovery rate controlled over the setting's tests.", "",
                  f"**Results at the headline setting** ({dataset}-LT, imbalance {s.imb:g}, preset `{s.preset}`). "
                  f"Of the {len(here)} claims the paper makes at this factor"
                  + (" (with those for which it names no factor, which the book reads at 100)"
                     if s.imb == UNNAMED_FACTOR else "") + ": " + _tally(n) + ".", ""]
        moved = [c for c in here if at[c.id].verdict == MISSING]
        if moved and s.preset != SWEEPS_AT:  # recorded for the main tables only: the ablations are read at cpu
            sweeps = verdicts_at(replace(s, preset=SWEEPS_AT))[0]
            lines += [f"Of the {_n(len(moved), 'claim')} not recorded at `{s.preset}` (ablations and sweeps), read at "
                      f"`{SWEEPS_AT}` ({PRESETS[SWEEPS_AT].epochs} epochs) as the chapter's `{SWEEPS_AT}` sections "
                      "show them: " + _tally(Counter(sweeps[c.id].verdict for c in moved)) + ".", ""]
        if beyond:
            lines += [f"Beyond the paper (the {_n(len(beyond), 'claim')} it makes at other factors only, read here at "
                      f"{s.imb:g}): " + _tally(nb) + ".", ""]
    lines += [f"**What was easy.** {EASY[paper]}", "", f"**What was difficult.** {DIFFICULT[paper]}", "",
              "**Departures from the paper.**", "",
              f"- Data: {dataset}-LT (the CIFAR-LT construction on its {dataset_info(dataset).num_classes} classes) "
              "instead of CIFAR-10-LT and CIFAR-100-LT; the chapter compares trends with the paper, not numbers.",
              "- Schedule: the book's presets, " + "; ".join(
                  f"`{name}` {q.epochs} epochs at width {q.width:g}" for name, q in PRESETS.items() if name != "smoke")
              + f" (the paper: {PRESETS['paper'].epochs} epochs at full width, which needs a GPU)."]
    for row, method, knob, book, code, chapter in DEPARTURES:
        if chapter == paper:
            lines.append(f"- {row}: the book follows the paper ({setting_name(knob, book)}); the official code "
                         f"uses {setting_name(knob, code)}. The leaderboard trains both.")
    lines += ["- The chapter's section *What differs from the paper, and why* lists every other difference with the "
              "numbers it moves.", ""]
    return "\n".join(lines)


def write(root: Path, dataset: str = "fmnist") -> list[Path]:
    """Write every paper's summary under ``root/book/papers/summaries`` (what the overview pages include)."""
    out = root / "book" / "papers" / "summaries"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for paper in sorted({c.paper for c in claims.CLAIMS}):
        path = out / f"{paper}.md"
        path.write_text(summary(paper, dataset))
        paths.append(path)
    return paths
