"""One reader for every chapter's parameters: papermill's text or Python values, checked before anything trains.

``papermill -p NAME VALUE`` hands a chapter its values as text ("200", "[0, 1]", "false"),
``-y`` and the notebook's own defaults as Python values. :func:`read` turns both into checked
values, and every error names the parameter, the value and what is allowed.
"""
from __future__ import annotations

import ast
import difflib
import math
import types
from dataclasses import dataclass
from typing import Any, Callable


class ParameterError(ValueError):
    """A chapter parameter with a value that cannot be used; the message says what is allowed."""


def _literal(value):
    """Text as a Python literal where it is one ("[0, 1]" -> [0, 1], "0.5" -> 0.5), else the text itself."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return value


def _bound(x: float) -> str:
    """A bound as a reader writes it: 4,294,967,295 and 1,000 in full, 0.001 as it is."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def number(low: float | None = None, high: float | None = None, integer: bool = False,
           low_open: bool = False) -> Callable:
    """A finite number in [low, high] (``low_open``: above ``low``); ``integer``: a whole number."""
    what, plural = ("an integer", "integers") if integer else ("a number", "numbers")
    bounds = [f"{'>' if low_open else '>='} {_bound(low)}" if low is not None else "",
              f"<= {_bound(high)}" if high is not None else ""]
    limits = " and ".join(b for b in bounds if b)
    allowed = f"{what} {limits}".strip()

    def read(value):
        v = _literal(value)
        if isinstance(v, str):
            try:
                v = float(v)  # "inf", "nan", "1e3": numbers that are not Python literals
            except ValueError:
                raise ValueError(allowed) from None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(allowed)
        if not math.isfinite(v):
            raise ValueError(f"{allowed} (finite)")
        if integer and v != int(v):
            raise ValueError(allowed)
        if low is not None and (v <= low if low_open else v < low) or high is not None and v > high:
            raise ValueError(allowed)
        return int(v) if integer else float(v)

    read.allowed, read.plural = allowed, f"{plural} {limits}".strip()
    return read


def boolean(value):
    """True or False; the text "true" / "false" (any case), "1" / "0" and "yes" / "no" too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no"):
        return False
    raise ValueError("True or False")


boolean.allowed, boolean.plural = "True or False", "True or False values"


def choice(*options) -> Callable:
    """One of ``options``."""
    allowed = "one of " + ", ".join(repr(o) for o in options)

    def read(value):
        v = value.strip() if isinstance(value, str) else value
        if v not in options:
            raise ValueError(allowed)
        return v

    read.allowed, read.plural = allowed, "values among " + ", ".join(repr(o) for o in options)
    return read


def list_of(item: Callable, min_length: int = 1, distinct: bool = False) -> Callable:
    """A list of values each read by ``item``; one value alone is a list of one."""
    allowed = f"a list of {getattr(item, 'plural', 'values')}" + (", without repeats" if distinct else "")

    def read(value):
        v = _literal(value)
        if isinstance(v, str) and "," in v:  # "200, 100": a list written without brackets
            v = [x.strip() for x in v.split(",")]
        items = list(v) if isinstance(v, (list, tuple)) else [v]
        if len(items) < min_length:
            raise ValueError(f"{allowed} (at least {min_length})")
        out = []
        for x in items:
            try:
                out.append(item(x))
            except ValueError as err:
                raise ValueError(f"{allowed}; {x!r} is not {err}") from None
        if distinct and len(set(out)) != len(out):
            raise ValueError(f"{allowed}; {next(x for x in out if out.count(x) > 1)!r} appears more than once")
        return out

    read.allowed = allowed
    return read


def one_or_list(item: Callable) -> Callable:
    """One value, or a list of values without repeats (such as the seeds): always returned as a list."""
    many = list_of(item, distinct=True)
    allowed = f"{getattr(item, 'allowed', 'a value')}, or a list of them without repeats"

    def read(value):
        v = _literal(value)
        if isinstance(v, (list, tuple)) or (isinstance(v, str) and "," in v):
            return many(value)
        try:
            return [item(v)]
        except ValueError:
            raise ValueError(allowed) from None

    read.allowed = allowed
    return read


def or_(literal, reader: Callable) -> Callable:
    """``literal`` itself (such as "auto" or None), or a value read by ``reader``."""
    allowed = f"{literal!r} or {getattr(reader, 'allowed', 'a value')}"

    def read(value):
        v = value.strip() if isinstance(value, str) else value
        if v == literal or (literal is None and isinstance(v, str) and v.lower() == "none"):
            return literal
        try:
            return reader(value)
        except ValueError as err:
            raise ValueError(f"{literal!r} or {err}") from None

    read.allowed = allowed
    return read


def text(value):
    """Any text (a path, a name); a number too, as papermill reads ``-p table_csv 2024`` as one."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("text")
    return value


text.allowed, text.plural = "text", "texts"


@dataclass(frozen=True)
class Param:
    """A chapter parameter: its name, the notebook's default, how its value is read, and what it is for."""
    name: str
    default: Any
    read: Callable
    help: str = ""


def read(spec: list[Param], values: dict) -> dict:
    """Every parameter of ``spec`` read from ``values`` (missing ones take their default), in order.

    Raises :class:`ParameterError` naming the first bad parameter, its value and what is allowed.
    """
    refuse_unknown(values, [p.name for p in spec])
    out = {}
    for p in spec:
        value = values.get(p.name, p.default)
        try:
            out[p.name] = p.read(value)
        except ValueError as err:
            raise ParameterError(f"parameter {p.name}={value!r}: must be {err}") from None
    return out


def check(name: str, value, ok: bool, allowed: str) -> None:
    """A cross-parameter check: raise :class:`ParameterError` for ``name`` unless ``ok``."""
    if not ok:
        raise ParameterError(f"parameter {name}={value!r}: must be {allowed}")


def refuse_unknown(names, known: list[str], where: str = "this chapter") -> None:
    """Raise :class:`ParameterError` for every name of ``names`` not in ``known``, with the closest known one."""
    unknown = sorted(set(names) - set(known))
    if not unknown:
        return
    named = []
    for n in unknown:
        close = difflib.get_close_matches(n.lower(), known, n=1, cutoff=0.6) or \
            [k for k in known if n.lower().startswith(k) or k.startswith(n.lower())][:1]
        named.append(f"{n} (did you mean {close[0]}?)" if close else n)
    raise ParameterError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(named)}: "
                         f"{where} takes {', '.join(known)}")


def injected(namespace: dict) -> set[str]:
    """The values a notebook's ``namespace`` (its ``globals()``) holds when its first cell after the parameters runs:
    the parameters cell's names and those papermill's injected cell added, which :func:`refuse_unknown` then refuses
    unless the chapter takes them. Modules, classes and functions (the cell's imports), private names and IPython's
    own are not values. The first call checks; a cell run again by hand after the rest of the notebook (whose own
    names are not parameters) checks nothing."""
    if namespace.get("_ltnb_checked"):
        return set()
    namespace["_ltnb_checked"] = True
    return {k for k, v in namespace.items() if not k.startswith("_") and k not in IPYTHON_NAMES
            and not isinstance(v, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType))}


# Names an IPython kernel's namespace holds besides the notebook's own.
IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})