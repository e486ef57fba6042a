"""What a dimension means: extremes, variance share and correlations against oracles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from embver.errors import InvalidInputError
from embver.project.dimensions import correlation_ratio, inspect_dimension


@pytest.fixture
def planted():
    """400 items in 6 dims; dim 2 carries the label, dim 4 tracks a numeric field."""
    rng = np.random.default_rng(0)
    labels = np.repeat(["cat", "dog"], 200)
    data = rng.standard_normal((400, 6)).astype(np.float32)
    data[:, 2] += np.where(labels == "dog", 4.0, -4.0)
    age = rng.uniform(0, 10, 400)
    data[:, 4] = age + rng.normal(scale=0.5, size=400)
    ids = [f"i{i}" for i in range(400)]
    return data, ids, labels.tolist(), age


def test_raw_dimension_extremes_and_variance(planted):
    data, ids, labels, _ = planted
    report = inspect_dimension(data, ids, dimension=2, labels=labels, n_extremes=3)
    order = np.argsort(data[:, 2])
    assert [i for i, _ in report.top] == [ids[j] for j in order[::-1][:3]]
    assert [i for i, _ in report.bottom] == [ids[j] for j in order[:3]]
    variances = data.var(axis=0)
    assert report.variance_share == pytest.approx(variances[2] / variances.sum(), rel=1e-5)
    assert report.label_eta > 0.95
    assert report.label_means["dog"] > 3 > -3 > report.label_means["cat"]


def test_numeric_metadata_correlation_matches_scipy(planted):
    data, ids, _, age = planted
    report = inspect_dimension(data, ids, dimension=4, metadata={"age": age, "name": ids})
    assert "name" not in report.metadata_correlations
    found = report.metadata_correlations["age"]
    assert found["pearson"] == pytest.approx(pearsonr(data[:, 4], age)[0], abs=1e-9)
    assert found["spearman"] == pytest.approx(spearmanr(data[:, 4], age)[0], abs=1e-9)


def test_first_principal_component_is_the_label_direction(planted):
    data, ids, labels, _ = planted
    report = inspect_dimension(data, ids, component=0, labels=labels, metric="euclidean")
    assert report.axis == "PC 1"
    assert report.variance_share > 0.5
    assert report.label_eta > 0.95


def test_correlation_ratio_closed_form():
    eta, means = correlation_ratio(np.array([1.0, 1.0, 3.0, 3.0]), ["a", "a", "b", "b"])
    assert eta == pytest.approx(1.0)
    assert means == {"a": 1.0, "b": 3.0}


def test_both_or_neither_axis_is_refused(planted):
    data, ids, _, _ = planted
    with pytest.raises(InvalidInputError, match="exactly one"):
        inspect_dimension(data, ids)


def test_dimension_out_of_range_is_refused(planted):
    data, ids, _, _ = planted
    with pytest.raises(InvalidInputError, match="dimension=6"):
        inspect_dimension(data, ids, dimension=6)
