"""The five papers' checkable claims, as data: each in the book's own short words, where the paper makes it,
the runs that test it (through :mod:`ltnb.methods`) and the statistic that decides (:mod:`ltnb.verdicts`).

Kinds (``kind``) and what they read:

* ``beats``: method ``a``'s last-epoch test accuracy above ``b``'s (``beats_few``: on the few classes);
* ``trend``: a per-class ``quantity`` of ``method`` larger for the frequent classes (``direction="head"``)
  or the rare ones (``"tail"``), read against the balanced reference;
* ``flatter``: ``quantity`` of ``a`` (``quantity_b`` of ``b``, default the same) varies less across classes;
* ``less`` / ``more``: a scalar ``quantity`` of ``a`` below / above ``b``'s (a metric such as ECE, or a
  statistic of the test features such as the correlation between channels);
* ``untestable``: not testable here, and ``why``.

``chapter`` and ``figure`` say where the book shows the evidence; the chapter prints the verdict there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("beats", "beats_few", "trend", "flatter", "less", "more", "untestable")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str  # the chapter name of the paper: angular | marr | lgla | gcl | whitening
    where: str  # section, table or figure of the paper
    text: str  # the claim in the book's words
    kind: str
    a: str = ""
    b: str = ""
    method: str = ""
    quantity: str = "accuracy"
    quantity_b: str = ""
    direction: str = "head"
    chapter: str = ""
    figure: str = ""
    imbs: tuple = field(default=())  # the factors the paper tests it at
    why: str = ""  # not testable here: why

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}; choose one of {KINDS}")
        if self.kind == "untestable" and not self.why:
            raise ValueError(f"claim {self.id}: an untestable claim says why")


def _c(*args, **kw) -> Claim:
    return Claim(*args, **kw)


CLAIMS: list[Claim] = []


def by_id(cid: str) -> Claim:
    for c in CLAIMS:
        if c.id == cid:
            return c
    raise KeyError(f"no claim {cid!r}; the claims are {[c.id for c in CLAIMS]}")


def of_chapter(chapter: str, figure: str | None = None) -> list[Claim]:
    """The testable claims a chapter shows (at ``figure``, when given), in order."""
    return [c for c in CLAIMS if c.chapter == chapter and c.kind != "untestable"
            and (figure is None or c.figure == figure)]
