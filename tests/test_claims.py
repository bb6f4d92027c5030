"""The papers' claims as data, their verdicts on the committed recordings, and the Claims page against the chapters."""
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ltnb import chapters, claims as C
from ltnb import stats as V
from ltnb.claims import evidence as E, readouts as R
from ltnb.kernels import samplers
from ltnb.methods import REGISTRY
from ltnb.reference import PAPERS

ROOT = Path(__file__).resolve().parents[1]


def test_every_claim_is_well_formed():
    ids = [c.id for c in C.CLAIMS]
    assert len(ids) == len(set(ids)), "claim ids repeat"
    for c in C.CLAIMS:
        assert c.paper in PAPERS and c.id.startswith(c.paper + "-"), c.id
        assert c.where and c.text, c.id
        if c.kind == "untestable":
            assert c.why, c.id
            continue
        assert c.chapter in chapters.BOOK, (c.id, c.chapter)
        for name in (c.a, c.b, c.method):  # methods of the registry (the samplers' shares name samplers)
            known = {"tail_sampling_share": samplers.SAMPLERS,
                     "batch_imbalance": (*samplers.SAMPLERS, "b3rs")}.get(c.quantity, REGISTRY)
            assert not name or name in known, (c.id, name)
        if c.kind == "trend":
            assert c.method and c.quantity in E.PER_CLASS and c.direction in ("head", "tail"), c.id
        elif c.kind == "flatter":
            assert c.a and c.quantity in E.PER_CLASS and (c.quantity_b or c.quantity) in E.PER_CLASS, c.id
        elif c.kind in ("less", "more"):
            assert c.a and c.b and c.quantity in E.SCALARS, c.id
        elif c.kind == "positive":
            assert c.method and c.quantity in E.LEADS, c.id
        elif c.kind == "gain":
            assert c.a and c.b and c.a0 in REGISTRY and c.b0 in REGISTRY, c.id
        else:
            assert c.a and c.b, c.id


def test_every_paper_has_claims_and_every_chapter_shows_its_own():
    for paper in PAPERS:
        assert len([c for c in C.CLAIMS if c.paper == paper]) >= 5, paper
    for c in C.CLAIMS:
        if c.kind != "untestable":
            assert c.figure, f"{c.id}: a testable claim names the figure or table of its chapter that tests it"


@pytest.fixture(scope="module")
def main_setting():
    return E.Setting("fmnist", 100.0, "cpu", (0,))


# claims whose runs are not recorded at the main setting yet (none: a new claim must come with its recordings)
NOT_RECORDED_YET: set = set()


def test_every_claim_evaluates_on_the_committed_recordings(main_setting):
    """At the recorded main setting every testable claim gets one of the four verdicts, with the number behind
    it: its runs are recorded (the few named above excepted, and they say so)."""
    missing = set()
    for c in C.CLAIMS:
        v = E.evaluate(c, E.for_claim(c, main_setting))
        assert v.number, c.id
        if v.verdict == V.MISSING:
            missing.add(c.id)
        else:
            assert v.verdict in V.VERDICTS, (c.id, v)
    assert missing <= NOT_RECORDED_YET, sorted(missing - NOT_RECORDED_YET)


def test_every_claim_evaluates_at_every_recorded_setting_without_error():
    for s in E.recorded_settings("fmnist"):
        for c in C.CLAIMS:
            assert E.evaluate(c, E.for_claim(c, s)).verdict in (*V.VERDICTS, V.MISSING)


def _verdicts_printed(name: str) -> list[tuple[str, str, str]]:
    """(claim id, verdict, setting) of every verdict box row in a committed notebook's outputs; the setting
    ('long · imb 100') is read from the box's stamp, so a box read at another preset is compared there."""
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
    text = "".join("".join(o.get("data", {}).get("text/html", "")) for cell in nb["cells"]
                   for o in cell.get("outputs", []))
    out = []
    for box in re.findall(r'<div class="ltnb-claims">(.*?)</table></div>', text, flags=re.S):
        imb, preset = re.search(r"<caption>.*?imb ([\d.]+) · preset (\w+)", box, flags=re.S).groups()
        out += [(cid, verdict, f"{preset} · imb {imb}") for cid, verdict in re.findall(
            r"<tr><td><code>([\w-]+)</code></td>.*?class=\"ltnb-verdict\"[^>]*>([^<]+)</span>", box)]
    return out


def test_the_claims_page_counts_equal_the_chapters_verdicts():
    """The committed Claims page and the committed chapters print the same verdict for every claim at the main
    setting (each chapter at its default seeds), every testable claim is printed by its own chapter, and the page's
    counts are the counts of its rows."""
    nb = json.loads((ROOT / "notebooks" / "claims.ipynb").read_text())
    html_out = ["".join(o.get("data", {}).get("text/html", "")) for cell in nb["cells"] for o in cell.get("outputs", [])]
    text = "".join(html_out)
    page, at = {}, {}  # the main setting's verdicts; every setting's
    for cid, row in re.findall(r"<tr><td><code>([\w-]+)</code></td>(.*?)</tr>", text):
        for label, verdict in re.findall(r"data-setting='([^']+)'>.*?class=\"ltnb-verdict\"[^>]*>([^<]+)</span>",
                                         row):
            at[cid, label] = verdict
        if (cid, "cpu · imb 100") in at:
            page[cid] = at[cid, "cpu · imb 100"]
    assert set(page) == {c.id for c in C.CLAIMS}
    own = {c.id: c.chapter for c in C.CLAIMS}
    seen = set()
    for name in chapters.BOOK:
        for cid, verdict, label in _verdicts_printed(name):
            assert verdict == at.get((cid, label)), (name, cid, label, verdict, at.get((cid, label)))
            if own[cid] == name:
                seen.add(cid)
    assert seen == {c.id for c in C.CLAIMS if c.kind != "untestable"}
    summary = next(h for h in html_out if "Verdicts per paper and setting" in h)
    header = re.findall(r"<th[^>]*>([^<]*)</th>", summary.split("</thead>")[0])
    columns = [h for h in header if h and h not in ("&nbsp;", "paper", "setting")]
    for paper in PAPERS:  # the summary row of each paper at the main setting holds its rows' counts
        mine = [page[c.id] for c in C.CLAIMS if c.paper == paper and E.where_claimed(c, 100.0)]
        row = re.search(rf"{paper}</th>.*?cpu · imb 100</th>(.*?)</tr>", summary, flags=re.S)
        cells = dict(zip(columns, re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)))) if row else {}
        assert cells["claims"] == str(len(mine)), (paper, cells)
        for verdict in (*V.VERDICTS, V.MISSING):
            assert cells.get(verdict, "0") == str(mine.count(verdict)), (paper, verdict, cells)
        beyond = sum(not E.where_claimed(c, 100.0) for c in C.CLAIMS if c.paper == paper)
        assert cells["beyond the paper"] == str(beyond), (paper, cells)


@pytest.mark.parametrize("recorded", [True, False])
def test_pruning_claims_read_the_papers_fractions_over_3_seeds_once_all_are_recorded(monkeypatch, recorded):
    """angular-36 to 38 compare pruning methods at the last fraction: the preset's (0.7 at cpu) until the paper's
    five fractions over 3 seeds are recorded in full, then 0.75, as Figure 6; every recorded seed is read."""
    from ltnb import store
    from ltnb.chapters.angular import AUTO_PRUNE

    monkeypatch.setattr(store, "exists", lambda cfg, root=None: recorded)
    claim = C.by_id("angular-36")
    s = E.for_claim(claim, E.Setting("fmnist", 100.0, "cpu", (0,)))
    assert s.seeds == E.SEEDS_READ  # every recorded seed, whichever are recorded
    cfg = E.config_of(claim.a, s, 0, (("prune", "avh"), ("fraction", "last")))
    fraction = dict(cfg.extra)["prune_fraction"]
    assert fraction == (AUTO_PRUNE["paper"][0][-1] if recorded else AUTO_PRUNE["cpu"][0][-1])
    assert not E.paper_pruning_recorded(E.Setting("fmnist", 100.0, "paper", (0,)))  # the paper preset has its own


@pytest.mark.parametrize("gaps, verdict", [((3.0, 3.0), V.HOLDS), ((3.0, 0.0), V.NOISE), ((3.0, -3.0), V.FAILS)])
def test_a_pruning_claim_holds_only_where_it_holds_at_every_fraction(monkeypatch, gaps, verdict):
    """'AVH beats EL2N at the same fraction pruned', on hand-made accuracies at two fractions, 6 seeds each side:
    each fraction is judged by its own runs (Welch: sd 1.10 a side, a 95% interval of about ±1.4 points)."""
    from ltnb.chapters import angular as A

    monkeypatch.setattr(A, "AUTO_PRUNE", {**A.AUTO_PRUNE, "cpu": ([0.4, 0.7], 3, 1)})
    monkeypatch.setattr(E, "paper_pruning_recorded", lambda s: False)
    noise = [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]  # sd 1.095 with n - 1
    gap = dict(zip((0.4, 0.7), gaps))

    def runs(name, setting, knobs=()):
        k = dict(knobs)
        return [80.0 + (gap[k["fraction"]] if k["prune"] == "avh" else 0.0) + e for e in noise]

    monkeypatch.setattr(E, "runs_of", runs)
    monkeypatch.setitem(E.METRICS, "accuracy", (lambda me, r, k: r, "points"))
    v = E._at_each_fraction(C.by_id("angular-36"), E.Setting("fmnist", 100.0, "cpu", tuple(range(6))))
    assert v.verdict == verdict, v.number
    assert "Welch at each; 6 against 6 seeds" in v.number and "0.4: Δ = +3.00 points" in v.number
    assert v.p == v.p  # a test, counted by the false discovery rate


def test_a_pruning_claim_with_too_few_seeds_at_a_fraction_says_so(monkeypatch):
    from ltnb.chapters import angular as A

    monkeypatch.setattr(A, "AUTO_PRUNE", {**A.AUTO_PRUNE, "cpu": ([0.4, 0.7], 3, 1)})
    monkeypatch.setattr(E, "paper_pruning_recorded", lambda s: False)
    monkeypatch.setattr(E, "runs_of", lambda name, setting, knobs=(): [80.0, 81.0])
    monkeypatch.setitem(E.METRICS, "accuracy", (lambda me, r, k: r, "points"))
    v = E._at_each_fraction(C.by_id("angular-36"), E.Setting("fmnist", 100.0, "cpu", (0, 1)))
    assert v.verdict == V.TOO_FEW and v.p != v.p


def test_the_papers_gap_is_read_off_its_own_table():
    """angular-22 'ABS beats L2A after stage 1': Table 2 prints 82.01 and 77.94 on CIFAR-10-LT at 100."""
    gap, where = C.paper_gap(C.by_id("angular-22"))
    assert gap == pytest.approx(82.01 - 77.94) and where == "CIFAR-10-LT (Table 2, imb 100)"
    gap, _ = C.paper_gap(C.by_id("angular-21"))  # a gain: (L2A_S1 - MiSLAS_S1) - (L2A_S2 - MiSLAS_S2)
    assert gap == pytest.approx((77.94 - 71.19) - (82.13 - 81.07))
    assert C.paper_gap(C.by_id("marr-22"))[0] != C.paper_gap(C.by_id("marr-22"))[0]  # knobs, no row named: none read
    assert C.paper_gap(C.by_id("angular-1"))[0] != C.paper_gap(C.by_id("angular-1"))[0]  # a trend: no gap


def test_a_knob_claims_gap_is_read_off_the_rows_it_names():
    """Ablation rows the method map cannot name: GCL's Table 3 (log. diff. 82.68 against cos. 79.21 on CIFAR-10-LT),
    LGLA's Table 4 (57.15 with RandAugment, 49.58 without, on CIFAR-100-LT), and two tables at once (gcl-29)."""
    assert C.paper_gap(C.by_id("gcl-18")) == (pytest.approx(82.68 - 79.21), "CIFAR-10-LT (Table 3, imb 100)")
    assert C.paper_gap(C.by_id("lgla-18")) == (pytest.approx(57.15 - 49.58), "CIFAR-100-LT (Table 4, imb 100)")
    assert C.paper_gap(C.by_id("gcl-29")) == (pytest.approx(80.52 - 80.41), "CIFAR-10-LT (Tables 5 and 4, imb 100)")
    assert C.paper_gap(C.by_id("gcl-15"), 200)[0] == pytest.approx(79.03 - 73.06)  # at the factor asked, when printed
    for c in C.CLAIMS:  # every named row exists, once per factor
        if c.printed:
            assert C.paper_gap(c)[0] == C.paper_gap(c)[0], c.id
    with pytest.raises(ValueError, match="part of its setting"):  # nine ABS rows at 100: ambiguous
        C.printed_row("angular", "cifar10", "Table 5: ABS")


def test_every_knob_a_claim_sets_is_said_in_words():
    """A verdict names its runs as the chapters do ('LGLA (without AAW)'), never by a run knob ('aaw False')."""
    knobs = {k for c in C.CLAIMS for k, _ in (*c.ka, *c.kb)}
    assert knobs <= set(C.KNOB_WORDS), sorted(knobs - set(C.KNOB_WORDS))
    assert C.knob_words((("loss", "ce"), ("aaw", False))) == " (Softmax, without AAW)"


def test_lgla_rows_are_named_as_the_chapter_names_them_not_as_lgla_with_knobs():
    """Table 5's Softmax and BALMS rows are the multi-expert network under another loss, not LGLA; IC and GC are
    independent convolutions and one group convolution (the paper's Sec. 4.4), not classifiers."""
    assert C.run_words("LGLA", (("loss", "ce"), ("aaw", False))) == "Softmax experts"
    assert C.run_words("LGLA", (("loss", "balanced_softmax"), ("aaw", False), ("randaugment", False))) \
        == "BALMS experts (without RandAugment)"
    assert C.run_words("LGLA", (("loss", "balanced_softmax"),)) == "BALMS experts + AAW"  # AAW on unless set off
    assert C.run_words("LGLA", (("aaw", False),)) == "CLA (LGLA without AAW)"
    assert C.run_words("LGLA", (("expert_type", "ic"),)) == "LGLA (independent convolutions (IC))"
    assert C.run_words("MARR", (("gamma", 2.0),)) == "MARR (γ = 2)"
    labels = {C.run_words(c.a, c.ka) for c in C.CLAIMS if c.a == "LGLA"} | \
        {C.run_words(c.b or c.a, c.kb) for c in C.CLAIMS if (c.b or c.a) == "LGLA"}
    assert not any("LGLA (Softmax" in t or "LGLA (BALMS" in t or "classifiers" in t for t in labels), labels


def test_claims_are_shown_where_the_paper_makes_them():
    marr = C.by_id("marr-1")  # made at 200
    assert E.where_claimed(marr, 200.0) and not E.where_claimed(marr, 100.0)
    unnamed = C.by_id("angular-1")  # its paper names no factor for Fig. 1: the book's headline factor, 100
    assert not unnamed.imbs and E.where_claimed(unnamed, 100.0) and not E.where_claimed(unnamed, 10.0)
    assert E.paper_factors(unnamed) == (100.0,) and E.paper_factors(marr) == (200.0,)


def test_a_best_of_claim_can_name_points_of_a_sweep_as_rivals():
    """marr-22, "γ = 1.2 is the best exponent": γ = 1.2 against every other γ of Fig. 4's sweep, each by its own runs;
    a rival is a method's name or (name, knobs)."""
    c = C.by_id("marr-22")
    assert E.sides(c) == [("MARR", (("gamma", g),)) for g in (2.0, 0.0, 0.4, 0.8, 1.6)]
    assert E.sides(C.by_id("marr-20")) == [("LWS", ()), ("cRT", ()), ("DisAlign", ())]
    assert ("MARR", (("gamma", 0.4),)) in E.runs_read(c, E.Setting("fmnist", 200.0, "cpu"))
    v = E.evaluate(c, E.Setting("fmnist", 100.0, "cpu", E.SEEDS_READ))  # recorded at the chapter's factor
    assert v.verdict != V.MISSING and "against each of 5 (MARR (γ = 2), MARR (γ = 0), MARR (γ = 0.4)" in v.number
    with pytest.raises(ValueError, match="rivals are for a 'beats' claim"):
        C.Claim("x", "marr", "", "", "trend", rivals=("CE",))


def test_a_claim_is_planned_with_replicates_at_every_factor_the_page_reads_it_as_the_papers():
    """The page and the plan agree: at cpu, every run a computed verdict reads at a factor where the verdict is the
    paper's claim has seeds 0-2 recorded or planned, keeping the arrays it reads (features for a spectrum, say)."""
    from ltnb import record, store
    from ltnb.claims import replicates

    planned = {it.key: it.kinds for it in record.seed_items("cpu", "fmnist")}  # with the arrays each must keep
    checked = 0
    for c in C.CLAIMS:
        if c.kind == "untestable":
            continue
        for imb in E.paper_factors(c):
            assert E.where_claimed(c, imb)
            s = E.Setting("fmnist", imb, "cpu", replicates.REPLICATES)
            for method, knobs in E.runs_read(c, s):
                try:
                    cfg = E.config_of(method, s, 0, knobs)
                except (KeyError, ValueError):  # a knob read post hoc only
                    continue
                for seed, need in ((s, replicates.reads_off(c, method)) for s in replicates.REPLICATES):
                    run = replicates.reseeded(cfg, seed)  # planned with what the verdict reads off it, or recorded so
                    assert need <= planned.get(run.key, set()) or store.exists(run) and (
                        not need or need <= replicates.recorded_kinds(run)), (c.id, imb, method, seed, need)
                    checked += 1
    assert checked > 300


def test_the_runs_a_verdict_reads_are_data():
    s = E.Setting("fmnist", 100.0, "cpu")
    assert E.runs_read(C.by_id("angular-1"), s) == [("CE", ()), (E.REFERENCE, ())]
    assert E.runs_read(C.by_id("angular-21"), s) == [("L2A (stage 1)", ()), ("L2A (stage 2)", ()), ("CE + mixup", ()),
                                                     ("MiSLAS", ())]
    assert E.runs_read(C.by_id("angular-51"), s) == []
    assert E.shares_runs(s, ("L2A (stage 1)", ()), ("CE + mixup", ()))  # a post-hoc reading of the same run
    assert not E.shares_runs(s, ("LDAM-DRW", ()), ("CE", ()))


def test_the_claims_side_cannot_train():
    """Every claim at the main setting is read in a fresh process, and nothing on that path imports the trainer
    (ltnb.runs.train and the training loops): the claims read recordings through ltnb.runs.derived.read, which has no trainer
    behind it, not a flag that switches one off."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from ltnb import claims as C\nfrom ltnb.claims import evidence as E\n"
            "s = E.Setting('fmnist', 100.0, 'cpu')\n"
            "vs = [E.evaluate(c, s) for c in C.CLAIMS]\n"
            "bad = [m for m in ('ltnb.runs.train', 'ltnb.training.stage1', 'ltnb.training.stacked', 'ltnb.runs.parallel')\n"
            "       if m in sys.modules]\n"
            "print(len(vs), bad)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[-1] == "[]", r.stdout
    import inspect

    from ltnb.claims import readouts
    from ltnb.runs import derived

    assert "derived.get(" not in inspect.getsource(readouts)  # the claims read, never get (which may train)
    assert "get_or_train" not in inspect.getsource(derived.read)


def test_each_overview_page_opens_with_its_summary_counted_from_the_runs():
    """book/papers/PAPER.md includes summaries/PAPER.md, which is what ltnb.claims.summary counts from the
    recordings now (make book writes it): no count on an overview page is typed, and none goes stale."""
    from ltnb.claims import summary

    for paper in sorted({c.paper for c in C.CLAIMS}):
        page = (ROOT / "book" / "papers" / f"{paper}.md").read_text()
        assert f"```{{include}} summaries/{paper}.md\n```" in page, paper
        committed = (ROOT / "book" / "papers" / "summaries" / f"{paper}.md").read_text()
        assert committed == summary.summary(paper), f"{paper}: run make book (or ltnb.claims.summary.write)"
        assert "**Scope.**" in committed and "**Departures from the paper.**" in committed


def test_an_experts_lead_on_its_own_group_by_hand(monkeypatch):
    """lgla-5's statistic on four classes of 100, 50, 20 and 10 images (groups {0} and {1, 2, 3}) and three experts:
    expert 1 right on class 0 only, expert 2 right on classes 1-3 only, the GLA expert right on every other image.
    Leads: 100 - 50 on group 0, 100 - 50 on group 1; then the GLA expert right everywhere: 100 - 100 = 0."""
    y = np.repeat(np.arange(4), 2)  # two test images a class

    def logits(right):  # (images, experts, classes): each expert's vote, right or one class off
        out = np.zeros((len(y), len(right), 4), dtype=np.float32)
        for k, ok in enumerate(right):
            out[np.arange(len(y)), k, np.where(ok, y, (y + 1) % 4)] = 1.0
        return torch.from_numpy(out)

    first, second = y == 0, y > 0
    half = np.arange(len(y)) % 2 == 0
    run = SimpleNamespace(metrics={"counts": [100, 50, 20, 10]}, config=SimpleNamespace(extra=()))
    monkeypatch.setattr(R.derived, "test_labels", lambda r: y)
    monkeypatch.setattr(R, "_expert_logits", lambda r: logits([first, second, half]))
    assert R.own_group_lead(run) == pytest.approx(50.0)
    monkeypatch.setattr(R, "_expert_logits", lambda r: logits([first, second, np.ones(len(y), bool)]))
    assert R.own_group_lead(run) == pytest.approx(0.0)
    v = E.compare([4.4, 3.6, 5.0], [0.0] * 3, paired=True)  # the rule a "positive" claim applies to its leads
    assert v.verdict == V.HOLDS



def test_norms_against_accuracy_beyond_difficulty_by_hand(monkeypatch):
    """lgla-8's statistic: three classes, two experts, each right on class 0 never, class 1 once, class 2 twice
    (of two images); the balanced reference right on each class once. Accuracy beyond difficulty -50, 0, +50:
    expert 1's norms 1, 2, 3 give rho +1, expert 2's 3, 2, 1 give -1, the mean 0; both 1, 2, 3: +1."""
    y = np.repeat(np.arange(3), 2)
    right = np.array([False, False, True, False, True, True])
    out = np.zeros((6, 2, 3), dtype=np.float32)
    for k in range(2):
        out[np.arange(6), k, np.where(right, y, (y + 1) % 3)] = 1.0
    monkeypatch.setattr(R.derived, "test_labels", lambda r: y)
    monkeypatch.setattr(R, "_expert_logits", lambda r: torch.from_numpy(out))
    weights = lambda n1, n2: np.array([[[v, 0.0] for v in n1], [[v, 0.0] for v in n2]])  # noqa: E731 (K, C, d)
    run = SimpleNamespace(arrays={"weight": weights([1, 2, 3], [3, 2, 1])})
    assert R.norm_accuracy_rho(run, [50.0, 50.0, 50.0]) == pytest.approx(0.0)
    run = SimpleNamespace(arrays={"weight": weights([1, 2, 3], [1, 2, 3])})
    assert R.norm_accuracy_rho(run, [50.0, 50.0, 50.0]) == pytest.approx(1.0)
    assert R.norm_accuracy_rho(run, [0.0, 100.0, 100.0]) == pytest.approx(0.0)  # the raw +1 was the classes' difficulty


def test_a_batch_of_whole_images_is_no_more_even_than_its_rounding():
    """128 images on 10 classes are 13 against 12 at best: B3RS reaching that is as even as class-balanced batches
    (whitening-23 does not hold), and still far more even than random batches (whitening-22 holds)."""
    s = E.Setting("fmnist", 100.0, "cpu")
    v23, v22 = E.evaluate(C.by_id("whitening-23"), s), E.evaluate(C.by_id("whitening-22"), s)
    assert v23.verdict == V.FAILS and "13 against 12" in v23.number
    assert v22.verdict == V.HOLDS


def _fake_comparisons(monkeypatch, by_rival):
    """Each comparison of a "best of" claim as a hand-made verdict, keyed by the rival (b) it is against."""
    monkeypatch.setattr(E, "evaluate", lambda c, s: by_rival[c.b])


@pytest.mark.parametrize("by_rival, verdict, decides", [
    ({"LWS": (V.HOLDS, 0.5, 0.1, 0.9, 0.01), "cRT": (V.HOLDS, 0.8, 0.2, 1.4, 0.03),
      "DisAlign": (V.HOLDS, 1.0, 0.5, 1.5, 0.002)}, V.HOLDS, "cRT"),  # every one holds: the largest p speaks
    ({"LWS": (V.HOLDS, 0.5, 0.1, 0.9, 0.01), "cRT": (V.FAILS, -0.3, -0.4, -0.2, 0.006),
      "DisAlign": (V.NOISE, 0.2, -0.1, 0.5, 0.2)}, V.FAILS, "cRT"),  # one rival ahead beyond the noise: fails
    ({"LWS": (V.NOISE, 0.0, -0.2, 0.2, 0.9), "cRT": (V.HOLDS, 0.8, 0.2, 1.4, 0.03),
      "DisAlign": (V.NOISE, 0.3, -0.5, 1.1, 0.4)}, V.NOISE, "DisAlign"),  # a holding rival never decides
    ({"LWS": (V.TOO_FEW, 0.9, math.nan, math.nan, math.nan), "cRT": (V.TOO_FEW, 0.8, math.nan, math.nan, math.nan),
      "DisAlign": (V.NOISE, 0.2, -0.1, 0.5, 0.2)}, V.TOO_FEW, "cRT"),  # too few: the lowest point estimate
])
def test_a_best_of_claim_must_beat_every_rival(monkeypatch, by_rival, verdict, decides):
    """marr-20, 'MARR is the most accurate of cRT, LWS and DisAlign', on hand-made comparisons: an intersection-union
    test (holds only where all hold; a failing comparison's p value times the 3 comparisons, Bonferroni)."""
    fake = {r: V.Verdict(w, f"MARR − {r} = {x:+.2f}", x, lo, hi, p) for r, (w, x, lo, hi, p) in by_rival.items()}
    _fake_comparisons(monkeypatch, fake)
    v = E._best_of(C.by_id("marr-20"), E.Setting("fmnist", 200.0, "cpu", (0, 1, 2)))
    assert v.verdict == verdict, v.number
    assert f", {decides}: MARR − {decides}" in v.number and "against each of 3 (LWS, cRT, DisAlign)" in v.number
    p = fake[decides].p
    assert v.p == pytest.approx(min(1.0, 3 * p)) if verdict == V.FAILS else (v.p == pytest.approx(p) or p != p)


def test_a_best_of_claim_names_a_rival_not_recorded_and_reads_the_others(monkeypatch):
    fake = {"LWS": V.Verdict(V.HOLDS, "MARR − LWS = +0.50", 0.5, 0.1, 0.9, 0.01),
            "cRT": V.Verdict(E.MISSING, "no run of cRT recorded at this setting"),
            "DisAlign": V.Verdict(V.HOLDS, "MARR − DisAlign = +1.00", 1.0, 0.5, 1.5, 0.002)}
    _fake_comparisons(monkeypatch, fake)
    v = E._best_of(C.by_id("marr-20"), E.Setting("fmnist", 200.0, "cpu", (0, 1, 2)))
    assert v.verdict == V.HOLDS and v.number.endswith("not recorded here: cRT")
    fake["LWS"] = V.Verdict(E.MISSING, "no run of LWS recorded at this setting")  # the paper's own rival: none
    assert E._best_of(C.by_id("marr-20"), E.Setting("fmnist", 200.0, "cpu", (0, 1, 2))).verdict == E.MISSING
