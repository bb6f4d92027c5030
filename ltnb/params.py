"""One reader for every chapter's parameters: papermill's text or Python values, checked before anything trains.

``papermill -p NAME VALUE`` hands a chapter its values as text ("200", "[0, 1]", "false"),
``-y`` and the notebook's own defaults as Python values. :func:`read` turns both into checked
values, and every error names the parameter, the value and what is allowed.
"""
from __future__ import annotations

import ast
import math
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


def number(low: float | None = None, high: float | None = None, integer: bool = False,
           low_open: bool = False) -> Callable:
    """A finite number in [low, high] (``low_open``: above ``low``); ``integer``: a whole number."""
    what = "an integer" if integer else "a number"
    bounds = [f"{'>' if low_open else '>='} {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else ""]
    allowed = f"{what} {' and '.join(b for b in bounds if b)}".strip()

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

    read.allowed = allowed
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


boolean.allowed = "True or False"


def choice(*options) -> Callable:
    """One of ``options``."""
    allowed = "one of " + ", ".join(repr(o) for o in options)

    def read(value):
        v = value.strip() if isinstance(value, str) else value
        if v not in options:
            raise ValueError(allowed)
        return v

    read.allowed = allowed
    return read


def list_of(item: Callable, min_length: int = 1, distinct: bool = False) -> Callable:
    """A list of values each read by ``item``; one value alone is a list of one."""
    allowed = f"a list of {getattr(item, 'allowed', 'values')}" + (", without repeats" if distinct else "")

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
            raise ValueError(allowed)
        return out

    read.allowed = allowed
    return read


def one_or_list(item: Callable) -> Callable:
    """One value, or a list of values (such as the seeds): always returned as a list."""
    return list_of(item, distinct=True)


def or_(literal, reader: Callable) -> Callable:
    """``literal`` itself (such as "auto" or None), or a value read by ``reader``."""
    allowed = f"{literal!r} or {getattr(reader, 'allowed', 'a value')}"

    def read(value):
        v = value.strip() if isinstance(value, str) else value
        if v == literal or (literal is None and isinstance(v, str) and v.lower() == "none"):
            return literal
        return reader(value)

    read.allowed = allowed
    return read


def text(value):
    """Any text (a path, a name)."""
    if not isinstance(value, str):
        raise ValueError("text")
    return value


text.allowed = "text"


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
    unknown = set(values) - {p.name for p in spec}
    if unknown:
        raise ParameterError(f"unknown parameter(s) {sorted(unknown)}; this chapter has {[p.name for p in spec]}")
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
