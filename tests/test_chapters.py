"""The chapters' parameters and plans, the method registry, the parameter reader, and the package's shape."""
import ast
import math
from pathlib import Path

import pytest

from ltnb import chapters, methods, params as Pm
from ltnb.chapters import BOOK, module, plan_for
from ltnb.chapters.door import start

ROOT = Path(__file__).resolve().parents[1]


def parameters_cell(chapter: str) -> str:
    """The parameters cell of ``notebooks/CHAPTER.py``, as text."""
    text = (ROOT / "notebooks" / f"{chapter}.py").read_text()
    return text.split('# %% tags=["parameters"]\n', 1)[1].split("\n# %%", 1)[0].strip()


@pytest.mark.parametrize("chapter", BOOK)
def test_the_notebook_parameters_cell_is_the_chapters_declaration(chapter):
    """Each knob is declared once (ltnb/chapters/CHAPTER.py's PARAMETERS: default, reader, help); the papermill cell
    is written from it, line for line, and reads back to the declared defaults."""
    spec = module(chapter).PARAMETERS
    assert parameters_cell(chapter) == chapters.parameters_cell(module(chapter))
    ns = {}
    exec(parameters_cell(chapter), ns)
    assert {p.name: ns[p.name] for p in spec} == {p.name: p.default for p in spec}


def test_a_chapter_door_is_one_call_that_names_its_module():
    """The first cell after the parameters: the chapter's module imported by name (an editor's "go to definition"
    reaches it) and one door call; no knob is written a second time."""
    for chapter in BOOK:
        text = (ROOT / "notebooks" / f"{chapter}.py").read_text()
        assert f"from ltnb.chapters import door, {chapter} as chapter\n" in text, chapter
        assert text.count("door.open(chapter, globals())") == 1, chapter
        body = text.split("door.open(chapter, globals())", 1)[1]
        for p in module(chapter).PARAMETERS:
            assert f"{p.name}={p.name}" not in body, (chapter, p.name)


@pytest.mark.parametrize("chapter", BOOK)
def test_every_default_is_a_valid_value(chapter):
    spec = module(chapter).PARAMETERS
    assert Pm.read(spec, {}) is not None


def test_every_method_builds_a_valid_config_with_its_own_defaults():
    bib = (ROOT / "book" / "references.bib").read_text()
    for name, m in methods.REGISTRY.items():
        for dataset in ("fmnist", "cifar100"):
            base = dict(dataset=dataset, imb=100.0, preset="cpu")
            cfg = m.config(base, seed=1)
            assert cfg.seed == 1 and cfg.dataset == dataset, name
            assert m.config(base, 1, subset=2).knob("subset_seed") == 2
            assert set(m.components(base)) >= {"loss", "head", "sampler", "stage 2"}
        assert m.paper is None or f"{{{m.paper}," in bib, f"{name}: {m.paper} is not in references.bib"
        assert m.family in ("one stage", "two stage", "post hoc", "ensemble")


def test_two_stage_methods_train_on_their_backbone_method():
    base = dict(dataset="fmnist", imb=100.0, preset="smoke")
    get = methods.get
    assert get("cRT").config(base).parent == get("CE").config(base)
    assert get("cRT").config(base, backbone="CE + mixup").parent == get("CE + mixup").config(base)
    assert get("GCL").config(base, cloud="cos").parent == get("GCL (stage 1)").config(base, cloud="cos")
    assert get("ATL (all)").config(base).parent == get("ATL (AEM)").config(base)
    assert get("MARR").config(base, backbone_imb=50).parent == get("CE").config(dict(base, imb=50.0))
    with pytest.raises(ValueError, match="has no knob"):
        get("CE").config(base, gamma=1.0)
    with pytest.raises(ValueError, match="unknown method 'GLC'"):
        get("GLC")


@pytest.mark.parametrize("preset", ["smoke", "cpu", "paper"])
def test_plans_put_the_main_tables_in_tier_one(preset):
    for chapter in BOOK:
        plan = plan_for(chapter, preset, dataset="fmnist")
        assert plan.configs(tiers=(1,)), chapter
        assert set(plan.configs(tiers=(1,))) <= set(plan.configs())


# ------------------------------------------------------------------ the parameter reader (papermill's text)

@pytest.mark.parametrize("chapter, values, expect", [
    ("baselines", {"seed": "[0, 1]"}, {"seed": [0, 1]}),
    ("baselines", {"seed": "3"}, {"seed": [3]}),
    ("gcl", {"strategies": '["cos","log"]'}, {"strategies": ["cos", "log"]}),
    ("marr", {"gammas": "[0.4, 0.8]", "other_losses": "false"}, {"gammas": [0.4, 0.8], "other_losses": False}),
    ("whitening", {"whitening": "false", "imbs": "200, 100"}, {"whitening": False, "imbs": [200.0, 100.0]}),
    ("whitening", {"whitening": "True"}, {"whitening": True}),
    ("lgla", {"tau": "None", "fusion": "[1, 1, 2]"}, {"tau": None, "fusion": [1.0, 1.0, 2.0]}),
    ("angular", {"shift_bn": "false", "score_runs": "4"}, {"shift_bn": False, "score_runs": 4}),
])
def test_papermill_text_is_read_as_lists_and_booleans(chapter, values, expect):
    read = Pm.read(module(chapter).PARAMETERS, values)
    assert {k: read[k] for k in expect} == expect


@pytest.mark.parametrize("chapter, values, message", [
    ("baselines", {"imb": "inf"}, "parameter imb='inf': must be a number >= 1 (finite)"),
    ("baselines", {"imb": "nan"}, "parameter imb='nan'"),
    ("baselines", {"imb": 10000}, "parameter imb=10000.0: must be at most 6,000 on fmnist"),
    ("baselines", {"tau": "abc"}, "parameter tau='abc': must be a number >= 0"),
    ("baselines", {"seed": "-1"}, "parameter seed='-1': must be an integer >= 0 and <= 4,294,967,295, or a list "
                                  "of them without repeats"),
    ("baselines", {"seed": "[0, 0]"}, "without repeats; 0 appears more than once"),
    ("gcl", {"strategies": "['cos', 'sin']"}, "'sin' is not one of 'log', 'cos', 'pow3', 'pow4'"),
    ("whitening", {"whitening": "maybe"}, "parameter whitening='maybe': must be True or False"),
    ("lgla", {"expert_type": "dense"}, "parameter expert_type='dense': must be one of 'gc', 'ic'"),
    ("lgla", {"experts": 20}, "parameter experts=20: must be at most 11"),
    ("angular", {"score_epochs": 50, "preset": "smoke"}, "at most the preset's 2 epochs"),
    ("baselines", {"device": "gpu"}, "parameter device='gpu'"),
    ("baselines", {"flavour": 1}, "unknown parameter flavour: this chapter takes dataset, imb, preset, seed, device, tau"),
])
def test_bad_values_fail_before_anything_trains(chapter, values, message, tmp_store):
    with pytest.raises(Pm.ParameterError) as err:
        start(chapter, verbose=False, dataset="fmnist", **{"preset": "smoke", **values})
    assert message in str(err.value)
    assert not tmp_store.exists() or not any(tmp_store.iterdir())


def test_number_reader_edges():
    read = Pm.number(low=1)
    assert read("1e2") == 100.0 and read(3) == 3.0
    for bad in ("inf", "-inf", "nan", True, "0.5", None, [1]):
        with pytest.raises(ValueError):
            read(bad)
    assert Pm.number(low=0, low_open=True)("0.1") == 0.1
    with pytest.raises(ValueError):
        Pm.number(low=0, low_open=True)(0)
    assert math.isclose(Pm.list_of(Pm.number())("[1, 2.5]")[1], 2.5)


# ------------------------------------------------------------------ the package's shape


def imports() -> dict[str, set[str]]:
    """Module -> the ltnb modules it imports (anywhere in the file, late imports included)."""
    root = ROOT / "ltnb"
    graph = {}
    for f in sorted(root.rglob("*.py")):
        name = ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ltnb"):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    path = ROOT / sub.replace(".", "/")
                    deps.add(sub if path.with_suffix(".py").exists() or path.is_dir() else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("ltnb")}
        graph[name] = deps - {name, "ltnb"}
    return graph


def test_every_module_imports_downward_only():
    """The import graph has no cycle: an order exists where every module imports only modules before it."""
    graph, order = imports(), []
    remaining = dict(graph)
    while remaining:
        ready = sorted(m for m, deps in remaining.items() if not (deps & set(remaining)))
        assert ready, f"import cycle among {sorted(remaining)}"
        order += ready
        for m in ready:
            del remaining[m]
    # a subpackage's __init__ imports none of its own modules (they import it implicitly)
    assert not {d for d in graph["ltnb.training"] if d.startswith("ltnb.training.")}
    assert not {d for d in graph["ltnb.chapters"] if d.startswith("ltnb.chapters.")}
    assert not {d for d in graph["ltnb.runs"] | graph["ltnb.kernels"] | graph["ltnb.claims"]
                if d.startswith(("ltnb.runs.", "ltnb.kernels.", "ltnb.claims."))}


def test_imports_sit_at_the_top_and_no_private_name_crosses_a_module():
    """Every ltnb import is at the top of its module (none inside a function: the graph above is the whole truth),
    and no module imports or reads another's private (underscored) name."""
    late, private = [], []
    for f in sorted((ROOT / "ltnb").rglob("*.py")):
        tree = ast.parse(f.read_text())
        where = f.relative_to(ROOT).as_posix()
        for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            late += [f"{where}:{n.lineno}" for n in ast.walk(fn)
                     if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("ltnb")]
        modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                   and (n.module or "").startswith("ltnb") for a in n.names}
        private += [f"{where}:{n.lineno} {a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                    and (n.module or "").startswith("ltnb") for a in n.names if a.name.startswith("_")]
        private += [f"{where}:{n.lineno} {n.value.id}.{n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                    and isinstance(n.value, ast.Name) and n.value.id in modules and n.attr.startswith("_")
                    and not n.attr.startswith("__")]
    assert late == [] and private == []


def test_the_readmes_layout_table_lists_every_module_in_import_order():
    """README's Layout table: every ltnb module (a subpackage as one entry), each importing only those before it."""
    import re

    rows = [line for line in (ROOT / "README.md").read_text().split("## Layout", 1)[1].splitlines()
            if line.startswith("| `")]
    order = [name.rstrip("/") for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])]
    top = lambda module: module.split(".")[1]  # noqa: E731  ltnb.training.stage1 -> training
    graph = imports()
    assert {top(m) for m in graph if m != "ltnb"} == set(order)
    late = [(m, d) for m, deps in graph.items() if m != "ltnb" for d in deps
            if top(d) != top(m) and order.index(top(d)) > order.index(top(m))]
    assert late == [], "modules importing one listed after them in the README"


def test_no_module_is_above_about_400_lines():
    sizes = {f.relative_to(ROOT).as_posix(): len(f.read_text().splitlines()) for f in (ROOT / "ltnb").rglob("*.py")}
    assert {f: n for f, n in sizes.items() if n > 420} == {}


def test_preset_auto_says_which_runs_are_recorded(tmp_path, monkeypatch):
    """preset=auto picks the best preset whose runs are all recorded; where none is, it says that the cpu preset
    trains what is missing, not that the runs are recorded (it did before, beside a box counting runs to train)."""
    import io
    from contextlib import redirect_stdout

    monkeypatch.delenv("LTNB_PRESET", raising=False)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    out = io.StringIO()
    with redirect_stdout(out):
        start("marr", imb=3)  # no run is recorded at imb 3
    assert "preset cpu (auto: not every run of these parameters is recorded, so cpu trains what is missing here)" \
        in out.getvalue()
    from ltnb.chapters import door as C

    everywhere = C.recorded_everywhere  # as if long were not recorded yet, whatever the recordings hold today
    monkeypatch.setattr(C, "recorded_everywhere", lambda plan, tiers=(1, 2, 3): everywhere(plan, tiers)
                        and "long" not in {c.preset for c in plan.configs()})
    out = io.StringIO()
    with redirect_stdout(out):
        start("marr")  # the recorded defaults
    assert "preset cpu (auto: its runs are recorded at cpu; not all yet at paper or long)" in out.getvalue()


def test_preset_auto_passes_over_long_where_a_recording_lacks_what_the_chapter_reads(tmp_path, monkeypatch):
    """A long recording made for another chapter (the budget axis) may lack the arrays this chapter reads: auto must
    not pick long and then retrain it (the LGLA chapter started to)."""
    from ltnb.chapters import door as C

    monkeypatch.delenv("LTNB_PRESET", raising=False)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    monkeypatch.setattr(C, "recorded_everywhere", lambda plan, tiers=(1, 2, 3): "long" in {
        c.preset for c in plan.configs()})
    lacking = C.recorded_to_retrain
    monkeypatch.setattr(C, "recorded_to_retrain", lambda plan: [c for c in plan.configs() if c.preset == "long"][:1]
                        or lacking(plan))
    ctx, _, _ = start("baselines", device="cpu", verbose=False)
    assert ctx.preset.name == "cpu"
    monkeypatch.setattr(C, "recorded_to_retrain", lambda plan: [])
    ctx, _, _ = start("baselines", device="cpu", verbose=False)
    assert ctx.preset.name == "long"


def test_preset_auto_takes_long_where_every_run_is_recorded_at_long(tmp_path, monkeypatch):
    """Without CUDA, preset=auto takes the longest schedule whose runs are all recorded: long over cpu."""
    import io
    from contextlib import redirect_stdout

    from ltnb.chapters import door as C

    monkeypatch.delenv("LTNB_PRESET", raising=False)
    monkeypatch.setenv("LTNB_RUNS", str(tmp_path / "store"))
    # recorded at long: its main tables (its ablations and sweeps are then read at cpu, MAIN_ONLY)
    monkeypatch.setattr(C, "recorded_everywhere", lambda plan, tiers=(1, 2, 3): "long" in {
        c.preset for c in plan.configs()})
    out = io.StringIO()
    with redirect_stdout(out):
        ctx, _, _ = start("baselines", device="cpu")
    assert ctx.preset.name == "long" and ctx.preset.epochs == 40
    assert "preset long (auto: its runs are recorded at long; not all yet at paper)" in out.getvalue()
    _, _, plan = start("baselines", device="cpu", verbose=False)
    assert C.moved(plan, ctx) == ["τ sweep", "paper's factors"]  # shown at cpu, each stamped so


def test_a_knob_set_away_from_its_default_is_named_in_every_verdict_box(monkeypatch, tmp_path):
    """'-p experts 2' in lgla: the verdict box under Table 1 read the claims at K = 3 (the book's runs) under the
    caption 'what these runs show', beside a table at K = 2 whose numbers said the opposite. The claims are defined
    on the defaults, so the box now names the knobs the reader set and says the verdicts do not test them."""
    from ltnb import report
    from ltnb.claims import CLAIMS
    from ltnb.stats import Verdict

    monkeypatch.setenv("LTNB_RUNS", str(tmp_path))
    opts = dict(dataset="fmnist", preset="smoke", device="cpu", verbose=False)
    assert start("lgla", experts=2, **opts)[0].changed == (("experts", 2),)
    assert start("lgla", experts=3, imb=50, seed=1, **opts)[0].changed == ()  # defaults and the setting: none
    assert start("gcl", noise_mul=0.0, cloud="cos", **opts)[0].changed == (("noise_mul", 0.0), ("cloud", "cos"))
    assert start("leaderboard", methods=["CE", "LDAM-DRW"], subset_methods=["CE"], **opts)[0].changed == ()  # rows

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    rows = [(CLAIMS[0], Verdict("holds", "Δ = +1"))]
    report.verdict_box(rows, "stamp")
    report.verdict_box(rows, "stamp", changed=(("experts", 2), ("fusion", [1, 1, 2])))
    assert "what these runs show — stamp</caption>" in shown[0]
    assert "default knobs" not in shown[0]
    assert ("the book's runs show at this chapter's default knobs — stamp. This page sets experts 2, "
            "fusion [1, 1, 2], which these verdicts do not test") in shown[1]
