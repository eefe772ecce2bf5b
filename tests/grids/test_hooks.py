"""The hooks that let grids show and follow what the apps above own, without importing them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from grids import selectors, signals
from grids.models import Grid
from households import selectors as household_selectors


def test_households_register_their_figures():
    assert signals.household_figures() is household_selectors.with_household_figures


def test_no_household_figures_is_a_configuration_error(monkeypatch):
    monkeypatch.setattr(signals, "_household_figures", None)
    with pytest.raises(ImproperlyConfigured):
        selectors.with_household_figures(Grid.objects.none())


def test_households_follow_a_replaced_grid():
    assert signals.grid_replaced.has_listeners(Grid)
