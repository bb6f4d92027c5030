"""Things to try at the end of each chapter: a papermill command each, what it costs here, and what to look for.

Each exercise changes one or two of the chapter's parameters. Its cost is ``make plan``'s estimate for the runs the
chapter would train with those parameters (its missing runs, and the recorded runs it must retrain for what a
recording does not keep), at the ``cpu`` preset on this machine; a recorded exercise costs nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ltnb import chapters, store
from ltnb.claims import CLAIMS, Claim, evidence, run_words
from ltnb.runs.budget import measured_pool, one_after_another
from ltnb.stats import seeds_words


@dataclass(frozen=True)
class Exercise:
    title: str
    params: dict = field(default_factory=dict)
    look: str = ""  # what to look for in the result
    # the gaps the question starts from, read off the book's runs when the page executes: (A, B, B's knobs) each
    premise: tuple = ()


CRT_ON_MIXUP = (("backbone", "CE + mixup"),)  # cRT on the CE + mixup network: GCL's Table 1 row "CE + mixup + cRT"


EXERCISES: dict[str, list[Exercise]] = {
    "baselines": [
        Exercise("A milder imbalance", {"imb": 10},
                 "Which re-balancing method still beats CE when the smallest class has 600 images? No class then "
                 "has 100 images or fewer, so the table keeps only the overall and many columns: compare the per-class "
                 "figure with the one at 100, and read the verdict boxes: which verdicts change?",
                 (("Balanced Softmax", "CE", ()), ("cRT", "CE", ()))),
        Exercise("A stronger τ-norm", {"tau": 2.0},
                 "τ = 2 divides each class's weights by the square of their norm. Does the tail gain more than the "
                 "head loses? Look at the many and medium columns of the τ-norm row."),
        Exercise("Another seed", {"seed": 1},
                 "How far does each number move with the seed alone? The verdicts judge each gap by the two methods' "
                 "own seeds: compare a gap that moves with the seed against its interval before calling one method "
                 "better."),
    ],
    "gcl": [
        Exercise("GCL without its clouds", {"noise_mul": 0.0},
                 "λ = 0 removes the Gaussian noise: what is left is a cosine classifier with mixup and a re-trained "
                 "classifier. How does GCL's gap to CE + mixup + cRT move without the clouds?",
                 (("GCL", "cRT", CRT_ON_MIXUP),)),
        Exercise("The other cloud sizes", {"cloud": "cos"},
                 "Table 3's cosine cloud size in the main runs: does the main table's GCL row move beyond the noise?"),
        Exercise("The stronger imbalance", {"imb": 200},
                 "At 200 the smallest class has 30 images. Table 1 has GCL's gap to CE grow with the imbalance: does "
                 "it here?", (("GCL", "CE", ()),)),
        Exercise("Another re-sampler in stage 2", {"sampler": "class_balanced"},
                 "Class-balanced sampling instead of CBEN: which classes gain and which lose?"),
    ],
    "marr": [
        Exercise("No re-weighting", {"gamma": 0.0},
                 "γ = 0 makes MARR's margin loss weigh every class alike: does the tail's gain vanish?"),
        Exercise("The stronger imbalance", {"imb": 200},
                 "Table 2 at 200: how do MARR's gaps to cRT and Balanced Softmax move, and where do the verdicts move?",
                 (("MARR", "cRT", ()), ("MARR", "Balanced Softmax", ()))),
        Exercise("Longer stage 2", {"iterations": 1000},
                 "1,000 classifier steps instead of the preset's 10 epochs at batch 512: was stage 2 converged? "
                 "Compare MARR's and DisAlign's rows with the main table's."),
    ],
    "angular": [
        Exercise("The linear ALAS", {"f_form": "linear"},
                 "The linear form of f in Eq. 5 instead of the concave one: does ATL's gain depend on it?"),
        Exercise("AEM as written", {"aem_s": 1},
                 "Eq. 6 with s = 1, as the paper writes it (the chapter's note reads the recorded s = 1 run): which classes "
                 "does it lose first, and does stage 2 (ATL) recover them?"),
        Exercise("A stronger ABS", {"s": 0.5},
                 "ABS (Eq. 7) at s = 0.5, twice the paper's setting on 10 classes, post hoc on the stored runs: "
                 "where does the tail's gain turn into the head's loss?"),
    ],
    "lgla": [
        Exercise("Two experts", {"experts": 2},
                 "K = 2: one local expert and the global one. How do LGLA's accuracy and its gaps to LDAM-DRW and to "
                 "BALMS move without the third expert?", (("LGLA", "LDAM-DRW", ()), ("LGLA", "BALMS experts", ()))),
        Exercise("A cooler global expert", {"tau": 2.0},
                 "τ = 2 instead of the official 3 for the global expert's logit adjustment: do the tail classes "
                 "lose what the head gains?"),
        Exercise("Trust the global expert more", {"fusion": [1, 1, 2]},
                 "A weighted ensemble instead of the mean: does the tail gain, and what does the head pay?"),
    ],
    "whitening": [
        Exercise("A larger ε", {"epsilon": 0.1},
                 "ε of Eq. 13 a hundred times larger whitens less: do CW's weight norms and accuracy move toward CE's?"),
        Exercise("Tail images more often", {"alpha": 1.0},
                 "α = 1 shows every tail image every epoch: how does BET's gap to CE move?", (("BET", "CE", ()),)),
        Exercise("The stronger imbalance", {"imb": 200},
                 "Table 1 at 200: the paper's CW − CE gap is 4.7 points at 100 and 4.4 at 200 (0.6 to 4.7 across its six "
                 "factors, not monotone); how does the gap here move from 100 to 200?",
                 (("CW", "CE", ()),)),
    ],
}


def command(chapter: str, params: dict) -> str:
    """The papermill command of an exercise (values as papermill reads them: JSON for lists and booleans)."""
    parts = [f"papermill notebooks/{chapter}.ipynb out.ipynb"]
    for k, v in params.items():
        text = json.dumps(v) if isinstance(v, (list, bool)) else f"{v:g}" if isinstance(v, float) else str(v)
        parts.append(f"-p {k} '{text}'" if isinstance(v, list) else f"-p {k} {text}")
    return " ".join(parts)


def to_train(chapter: str, params: dict, preset: str = "cpu", dataset: str = "fmnist"):
    """The runs the chapter would train with ``params`` here: missing ones, and recorded ones it must retrain."""
    plan = chapters.plan_for(chapter, preset, dataset=dataset, device="cpu", **params)
    missing = [c for c in plan.configs() if not store.exists(c)]
    return missing + chapters.recorded_to_retrain(plan)


def cost(chapter: str, params: dict, preset: str = "cpu", dataset: str = "fmnist", pool=None) -> tuple[int, float]:
    """(runs to train, estimated seconds on this machine's CPU, one after another as a chapter trains them):
    ``make plan``'s estimate, from the times of the runs of the same kinds in ``pool`` (default: every run at
    ``preset``, recorded or stored)."""
    cfgs = to_train(chapter, params, preset, dataset)
    return len(cfgs), one_after_another(cfgs, preset, "cpu", pool)


def premise(ex: Exercise, setting, chapter: str = "") -> str:
    """The gaps an exercise starts from, as the book's runs give them at ``setting`` (every recorded seed, the same
    rule as the verdicts): "Here, at long · imb 100: GCL − cRT = −1.40 points (too few runs: 2 seeds)". A gap that
    ``chapter``'s paper claims is the verdict its box prints (the paper's gap and the page's false discovery rate
    included), so that the two agree."""

    parts = []
    for a, b, kb in ex.premise:
        same = [c for c in CLAIMS if c.paper == chapter and c.kind == "beats" and c.metric == "accuracy"
                and (c.a, c.b, c.ka, c.kb) == (a, b, (), kb)]
        if same:
            v = evidence.verdicts_at(setting)[0][same[0].id]
        else:
            claim = Claim("premise", chapter, "", "", "beats", a=a, b=b, kb=kb)
            v = evidence.evaluate(claim, evidence.for_claim(claim, setting))  # every recorded seed, as the verdicts
        if v.value != v.value:
            parts.append(f"{a} against {run_words(b, kb)}: {v.verdict}")
            continue
        ci = f", 95% interval [{v.lo:+.2f}, {v.hi:+.2f}]" if v.lo == v.lo else ""
        na, nb = (tuple(v.seeds) * 2)[:2] if v.seeds else (0, 0)  # (n,) when both sides have n
        seeds = f", {seeds_words(na, nb)}" + (" a side" if na == nb else "") if v.seeds else ""
        parts.append(f"{a} − {run_words(b, kb)} = {v.value:+.2f} points{ci} ({v.verdict}{seeds})")
    return f"Here, at {setting.label}: " + "; ".join(parts) + "." if parts else ""


def show(chapter: str, preset: str = "cpu", ctx=None) -> None:
    """The chapter's exercises as a list: command, cost here, what to look for, and the gaps each starts from at the
    chapter's main setting (``ctx``; default: the longest preset CE is recorded at, imbalance 100)."""
    from IPython.display import Markdown, display


    if ctx is not None:
        setting = evidence.Setting(ctx.dataset, float(ctx.imb), ctx.preset.name)
    else:
        found = [s for s in evidence.recorded_settings("fmnist", ("long", "cpu")) if s.imb == 100.0]
        setting = evidence.Setting("fmnist", 100.0, found[0].preset if found else "cpu")

    lines = ["Each is one papermill command, run from the repository's folder. Its cost is `make plan`'s estimate "
             "for the runs it trains (nothing, where they are recorded): the median time of the book's recorded "
             "runs of the same kinds, trained on 2 CPU cores, one after another as the chapter trains them; a faster "
             "or slower machine takes proportionally less or more. The chapter prints the same estimate before it "
             "trains anything.\n"]
    pool = measured_pool(preset)
    for i, ex in enumerate(EXERCISES[chapter], 1):
        n, secs = cost(chapter, ex.params, preset, pool=pool)
        when = ("recorded: renders in seconds" if n == 0 else
                f"trains {n} run{'s' if n > 1 else ''}, about {max(1, round(secs / 60))} min on 2 CPU cores")
        start = premise(ex, setting, chapter)
        lines.append(f"{i}. **{ex.title}** ({when}):\n   `{command(chapter, ex.params)}`\n   "
                     + (f"{start} " if start else "") + ex.look)
    display(Markdown("\n".join(lines)))
