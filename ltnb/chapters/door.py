"""The door of every chapter: its first cell, ``ctx, P, plan = door.open(gcl, globals())``.

:func:`open` reads the chapter's knobs from the notebook's names (its papermill parameters cell, each knob declared
once, in the chapter module's ``PARAMETERS``), refuses a name papermill added that the chapter does not take, checks
every value, resolves the preset and the device, builds the plan and announces where its numbers come from. The plan
it returns fetches its runs, training what is missing (:func:`ltnb.runs.train.get_or_train`); the plans the recorder
and the claims read (:func:`ltnb.chapters.plan_for`) are data and cannot train.
"""
from __future__ import annotations

import types

from IPython.display import HTML, display

from ltnb import data, params as Pm, store
from ltnb.chapters import (
    SETTING_PARAMETERS,
    SWEEPS_AT,
    Context,
    Group,
    Plan,
    build,
    check_imb,
    context_of,
    module,
    moved,
    recorded_everywhere,
    recorded_to_retrain,
)
from ltnb.presets import PRESETS, auto_presets, resolve_dataset, resolve_device
from ltnb.runs import derived, train
from ltnb.runs.budget import one_after_another


class OpenPlan(Plan):
    """A chapter's plan as :func:`open` returns it: :meth:`fetch` reads its runs, or trains the missing ones."""

    def fetch(self, name: str) -> dict:
        """The runs of group ``name``: row -> runs per seed. Missing runs are trained, unless the group is
        optional: then a row appears only when all its runs are stored or recorded. A recording that lacks the
        derived arrays the chapter reads of it (``derived=`` of :meth:`Plan.add`) is trained into the store."""
        g = self.groups[name]
        if g.optional:
            return super().fetch(name)
        return {row: [self._with_arrays(train.get_or_train(c, device=self.device), g.derived.get(row, ()))
                      for c in cfgs] for row, cfgs in g.rows.items()}

    def _with_arrays(self, run, kinds):
        if run.recorded and any(derived.stored(run, k) is None for k in kinds):
            return train.get_or_train(run.config, device=self.device, full=True)
        return run

    def row(self, name: str, row: str) -> list:
        """The runs of one row of group ``name``."""
        return self.fetch_rows(name, [row])[row]

    def fetch_rows(self, name: str, rows) -> dict:
        g = self.groups[name]
        sub = OpenPlan({name: Group({r: g.rows[r] for r in rows}, g.tier, g.optional,
                                    derived={r: g.derived[r] for r in rows if r in g.derived})}, self.device)
        return sub.fetch(name)


def open(chapter: types.ModuleType, namespace: dict, verbose: bool = True):
    """A chapter's door: ``ctx, P, plan = door.open(gcl, globals())`` right after the parameters cell.

    Reads each of ``chapter.PARAMETERS`` from ``namespace`` (the notebook's ``globals()``: the parameters cell and
    papermill's injected cell); any other value there (not a module, class or function, not IPython's or private) is
    a name papermill added that the chapter does not take, and is refused, naming the closest it takes. The first
    call checks (:func:`ltnb.params.injected`); a cell run again after the rest of the notebook only reads. Each knob's
    name then holds its resolved value (an ``auto`` decided), so no notebook unpacks them again. Returns (context,
    resolved parameters, plan), as :func:`start`.
    """
    names = [p.name for p in chapter.PARAMETERS]
    injected = Pm.injected(namespace) - set(names)
    ctx, P, plan = start(chapter, injected, verbose, **{n: namespace[n] for n in names if n in namespace})
    namespace.update({n: getattr(P, n) for n in names if hasattr(P, n)})  # each knob as resolved ('auto' decided)
    return ctx, P, plan


def start(chapter, injected=(), verbose: bool = True, **values):
    """A chapter's first cell: read and check every parameter, pick the preset, build the plan, announce.

    ``chapter``: its module (or name). ``injected``: names papermill's cell added; one the chapter does not
    take is refused, naming those it takes. ``preset="auto"`` is ``$LTNB_PRESET`` when set; on CUDA ``paper``;
    otherwise the longest schedule whose runs are all recorded with every array the chapter reads (``paper``, then
    ``long``, then ``cpu``), else ``cpu``, which trains what is missing (a reader who wants ``long`` trained asks for
    it). Nothing trains here: a bad value fails in seconds. Returns (context, resolved parameters, plan).
    """
    chapter = module(chapter) if isinstance(chapter, str) else chapter
    name = chapter.__name__.rsplit(".", 1)[-1]
    Pm.refuse_unknown(injected, [p.name for p in chapter.PARAMETERS], f"the {name} chapter")
    read = Pm.read(chapter.PARAMETERS, values)
    dev = resolve_device(read["device"])
    ds, dwhy = resolve_dataset(read["dataset"])
    for key in ("imb", "imbs"):  # a factor that leaves a class empty fails here; 'auto' is checked by the chapter
        value = read.get(key)
        for f in value if isinstance(value, list) else [value] if isinstance(value, float) else []:
            check_imb(ds, f, key)
    if not data.available(ds):
        data.load(ds, train=True)  # fails in seconds with the instructions, before any training
    candidates, why = auto_presets(read["preset"], dev)
    for i, preset_name in enumerate(candidates):
        ctx, P = context_of(chapter, read, preset_name, ds, dev)
        plan = OpenPlan(build(chapter, ctx, P).groups, dev)
        if len(candidates) == 1:
            break
        if recorded_everywhere(plan) and not recorded_to_retrain(plan):  # nothing to train; and say which longer
            # schedules were passed over, so no reader wonders
            why = f"auto: its runs are recorded at {preset_name}" + (
                f"; not all yet at {' or '.join(candidates[:i])}" if i else "")
            break
    else:  # (the message said 'its runs are recorded at cpu' here too, while the box counted runs to train)
        why = f"auto: not every run of these parameters is recorded, so {candidates[-1]} trains what is missing here"
    defaults = Pm.read(chapter.PARAMETERS, {})
    changed = tuple((k, v) for k, v in read.items() if k not in SETTING_PARAMETERS and v != defaults[k])
    ctx = Context(ctx.dataset, ctx.imb, ctx.preset, ctx.seeds, dev,
                  (f"preset {ctx.preset.name} ({why})", f"dataset {ds} ({dwhy})"), changed)
    missing = [c for c in plan.configs() if not store.exists(c)]
    retrained = recorded_to_retrain(plan)
    if missing or retrained:
        store.check_writable()  # before anything trains: a finished run must be storable
    if verbose:
        announce(ctx, plan, missing, retrained)
    return ctx, P, plan


def announce(ctx: Context, plan: Plan, missing: list, retrained=()) -> None:
    """The chapter's first lines: the stamp, what is in force, and where its numbers come from."""
    print(f"ltnb · {ctx.stamp}")
    for n in ctx.notes:
        print(f"  {n}")
    if ctx.dataset == "fmnist":
        print("  Fashion-MNIST-LT is not CIFAR: compare trends with the papers, not numbers.")
    total = len(plan.configs())
    recorded = sum(store.source(c) == "recorded" for c in plan.configs())
    p = ctx.preset
    device = store.trained_on(plan.configs(tiers=(1,)))
    others = moved(plan, ctx)
    todo = list(missing) + list(retrained)
    if todo:
        mins = one_after_another(todo, p.name, ctx.device.type) / 60
        print(f"  {len(todo)} run{'s' if len(todo) > 1 else ''} to train here, one after another: about "
              f"{max(1, round(mins))} min, estimated from the recorded runs of the same kinds (`make plan`)")
    display(HTML(
        '<div class="ltnb-provenance"><b>Where these numbers come from.</b> '
        f"Preset <code>{p.name}</code>: ResNet-32 at width {p.width:g}, {p.epochs} epochs, batch {p.batch_size}; "
        f"{len(ctx.seeds)} seed{'s' if len(ctx.seeds) > 1 else ''} ({', '.join(map(str, ctx.seeds))}); "
        f"{ctx.dataset}-LT at imbalance {ctx.imb:g}. "
        f"{total} runs: {recorded} read from the recordings, {total - recorded - len(missing)} from the run store, "
        f"{len(missing)} to train here on {ctx.device.type}."
        + (f" Besides, {len(retrained)} run{'s' if len(retrained) > 1 else ''} that these start from or whose "
           "figures need more than a recording keeps (the network, the features) train into the run store."
           if retrained else "")
        + (f" Main-table runs trained on {device}." if device else "")
        + (f" Preset <code>{p.name}</code> is recorded for the main tables only: the other {len(others)} groups "
           f"({'; '.join(others)}) are at <code>{SWEEPS_AT}</code>, {PRESETS[SWEEPS_AT].epochs} epochs of the same "
           "network; each table's and figure's stamp names its preset." if others else "")
        + "</div>"))
