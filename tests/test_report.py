"""Tables: a split column no class falls in at the factor is left out, and the caption says so."""
import math

import pandas as pd

from ltnb import report


def test_an_empty_split_column_is_left_out_and_named():
    df = pd.DataFrame({"accuracy": ["90.1", "88.0"], "many": ["95.0", "93.1"], "few": ["–", "–"],
                       "few (%)": [math.nan, math.nan], "medium": ["80.0", "–"]})
    out, empty = report.drop_empty_splits(df)
    assert list(out.columns) == ["accuracy", "many", "medium"] and empty == ["few"]
    same, none = report.drop_empty_splits(df[["accuracy", "many"]])
    assert none == [] and list(same.columns) == ["accuracy", "many"]
    assert report.drop_empty_splits(df.iloc[:0])[1] == []  # no rows: nothing to say about the columns


def test_spaced_labels_keep_their_order_and_a_minimum_gap():
    import numpy as np

    from ltnb import plots

    ys = np.array([1.0, 1.05, 1.1, 3.0, 0.98])
    out = plots.spaced(ys, 0.2)
    assert list(np.argsort(out)) == list(np.argsort(ys))  # the labels keep the points' order
    assert np.min(np.diff(np.sort(out))) >= 0.2 - 1e-9
    assert abs(out[3] - 3.0) < 0.5  # a point far from the cluster stays near its own height
    assert np.allclose(plots.spaced([0.0, 5.0], 0.2), [0.0, 5.0])  # nothing to move


def test_a_number_one_paper_prints_in_several_tables_is_said_once_with_its_tables():
    assert report.literature_cell("gcl", "cifar10", 100) == "82.68 (gcl T1, T3, T4, T5)"
    assert report.literature_cell("ldam_drw", "cifar10", 100) == "77 (lgla T1), 77.03 (gcl T1)"  # two papers: two numbers


def test_names_are_listed_as_a_sentence_lists_them():
    assert report.words(["τ-norm"]) == "τ-norm"
    assert report.words(["τ-norm", "CW"]) == "τ-norm and CW"
    assert report.words(["τ-norm", "CW", "CW + L2A"]) == "τ-norm, CW and CW + L2A"


def test_a_count_takes_its_noun_in_the_right_number():
    assert report.n_of(1, "seed") == "1 seed" and report.n_of(3, "seed") == "3 seeds" and report.n_of(0, "run") == "0 runs"
