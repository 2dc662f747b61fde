"""Chapter 4's rows (digits.replication.chapter4_universality): the runs, the checks, the figures."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from digits.replication import chapter4_figures
from digits.replication import chapter4_universality as chapter4
from digits.replication.figures import save_figure


def task(settings, seed=0):
    return SimpleNamespace(settings=settings, seed=seed)


def as_result(experiment_id, variants):
    """A result JSON as the replication saves it: {id, variants: [{name, runs}]}."""
    return {"id": experiment_id, "variants": [{"name": name, "runs": runs} for name, runs in variants.items()]}


@pytest.fixture(scope="module")
def construction():
    return chapter4.run_construction(task(chapter4.construction_settings()))


def test_the_construction_measures_every_n_and_w(construction):
    assert construction["bumps"] == [5, 10, 20, 50, 100]
    assert sorted(construction["deviation"], key=float) == ["10", "100", "1000"]
    assert all(len(d) == 5 for d in construction["deviation"].values())
    assert construction["deviation"]["1000"][-1] < construction["deviation"]["1000"][0] / 10


def test_the_construction_check_agrees_with_the_chapter(construction):
    claims = chapter4.check_construction(as_result("ch4-construction", {"": [construction]}))
    assert [claim.agrees for claim in claims] == [True, True]
    assert "N=100" in claims[0].ours and "slope" in claims[0].ours


def test_the_construction_check_fails_when_the_deviation_does_not_fall():
    flat = {"bumps": [5, 10, 20], "deviation": {"10": [0.1, 0.1, 0.1], "1000": [0.1, 0.09, 0.1]},
            "perfect_steps": [0.1, 0.09, 0.1],
            "slope": chapter4.log_slope([5, 10, 20], [0.1, 0.09, 0.1])}
    falls, smoother = chapter4.check_construction(as_result("ch4-construction", {"": [flat]}))
    assert not falls.agrees
    assert not smoother.agrees          # w = 10 is no worse than w = 1000 at N = 20


def test_a_trained_run_measures_its_network_and_the_construction_of_its_size():
    settings = dict(chapter4.trained_settings(10), epochs=100)
    run = chapter4.run_trained(task(settings, seed=2))
    assert 0 < run["deviation"] < 0.2
    assert run["construction_deviation"] == pytest.approx(0.0920, abs=5e-4)     # 5 bumps
    assert len(run["curve"]) == chapter4.CURVE_POINTS


def test_the_trained_check_compares_with_the_construction():
    good = {"deviation": 0.03, "construction_deviation": 0.09, "curve": [0.2] * 5, "seed": 1}
    bad = dict(good, deviation=0.12)
    assert chapter4.check_trained(as_result("ch4-trained", {"[1, 10, 1]": [good]}))[0].agrees
    assert not chapter4.check_trained(as_result("ch4-trained", {"[1, 10, 1]": [good, bad]}))[0].agrees


def test_the_figures_are_drawn(tmp_path):
    trained = as_result("ch4-trained", {"[1, 20, 1]": [
        {"deviation": 0.03, "construction_deviation": 0.055, "seed": 1, "curve": [0.3] * 201}]})
    for name, fig in (("universality.png", chapter4_figures.draw_universality(trained)),
                      ("towers.png", chapter4_figures.draw_towers())):
        save_figure(fig, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
