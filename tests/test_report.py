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
