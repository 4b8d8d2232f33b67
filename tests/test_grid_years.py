"""The annual grid intensity of each job's year (grid_year="job", docs/model.md §4.2).

The oracle is fleetcarbon.reference: a loop over each region's dated values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleetcarbon as fc
from fleetcarbon.errors import ParameterError
from fleetcarbon.grid_years import GridYearWarning
from fleetcarbon.reference import estimate_python

UTC = dt.timezone.utc
FACTORS = fc.load_factors()
HISTORY = FACTORS.grid_history
assert HISTORY is not None
REGIONS = {r["key"]: r for r in FACTORS.regions.iter_rows(named=True)}


def history_of(key: str) -> dict[int, float]:
    rows = HISTORY.filter(pl.col("key") == key)
    return dict(zip(rows["year"].to_list(), rows["grid_kgco2e_per_kwh"].to_list(), strict=True))


def jobs(starts: list[object], regions: list[str], **columns: object) -> pl.DataFrame:
    n = len(starts)
    return pl.DataFrame(
        {
            "job_id": list(range(1, n + 1)),
            "start": pl.Series(starts, dtype=pl.Datetime("us", "UTC")),
            "duration_h": [10.0] * n,
            "region": regions,
            "cpu": ["amd-epyc-7763"] * n,
            "cpu_cores": [64.0] * n,
        }
        | columns
    )


def quiet(frame: pl.DataFrame, factors: fc.Factors = FACTORS, **options: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fc.estimate(frame, factors, **options)  # type: ignore[arg-type]


def at(year: int, month: int = 6) -> dt.datetime:
    return dt.datetime(year, month, 1, tzinfo=UTC)


# A region with a long history (OWID/Ember 2000-2020) and a later regions row.
AT_HISTORY = history_of("AT")
AT_ROW_YEAR = REGIONS["AT"]["year"]


def test_a_job_is_charged_its_own_year() -> None:
    assert {2005, 2015} <= set(AT_HISTORY)
    est = quiet(jobs([at(2005), at(2015), at(AT_ROW_YEAR)], ["AT"] * 3))
    assert est["grid_kgco2e_per_kwh_effective"].to_list() == [
        AT_HISTORY[2005],
        AT_HISTORY[2015],
        REGIONS["AT"]["grid_kgco2e_per_kwh"],
    ]
    assert est["grid_year"].to_list() == [2005, 2015, AT_ROW_YEAR]
    assert est["grid_basis"].to_list() == ["annual"] * 3
    energy = est["facility_energy_kwh"].to_numpy()
    np.testing.assert_allclose(
        est["operational_kgco2e"], energy * est["grid_kgco2e_per_kwh_effective"], rtol=1e-15
    )


def test_a_year_without_data_gets_the_nearest_earlier_one() -> None:
    missing = [y for y in range(min(AT_HISTORY), AT_ROW_YEAR) if y not in AT_HISTORY]
    assert missing, "AT's history has a gap before its regions row"
    year = missing[0]
    earlier = max(y for y in AT_HISTORY if y < year)
    later = AT_ROW_YEAR + 7
    est = quiet(jobs([at(year), at(later)], ["AT", "AT"]))
    assert est["grid_year"].to_list() == [earlier, AT_ROW_YEAR]
    assert est["grid_kgco2e_per_kwh_effective"][0] == AT_HISTORY[earlier]
    assert est["grid_kgco2e_per_kwh_effective"][1] == REGIONS["AT"]["grid_kgco2e_per_kwh"]


@pytest.mark.filterwarnings("ignore::fleetcarbon.errors.HardwareDateWarning")
def test_a_job_before_all_data_gets_the_earliest_year_with_a_warning() -> None:
    first = min(AT_HISTORY)
    with pytest.warns(GridYearWarning, match=rf"1 jobs .* AT {first - 3} -> {first}"):
        est = fc.estimate(jobs([at(first - 3)], ["AT"]), FACTORS)
    assert est["grid_kgco2e_per_kwh_effective"][0] == AT_HISTORY[first]


def test_the_year_is_the_utc_year_of_the_start() -> None:
    # 00:30 on 1 January in Vienna is still 31 December in UTC.
    local = dt.datetime(2011, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    frame = jobs([None], ["AT"]).with_columns(
        pl.Series("start", [local]).dt.convert_time_zone("Europe/Vienna")
    )
    assert quiet(frame)["grid_year"][0] == 2010
    naive = frame.with_columns(
        pl.col("start").dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    )
    assert quiet(naive)["grid_year"][0] == 2010


def test_a_history_row_on_another_basis_is_not_used() -> None:
    # Google's 2019-2020 values are lifecycle, its current ones direct.
    key = "gcp:europe-west1"
    assert REGIONS[key]["basis"].startswith("direct")
    lifecycle_years = HISTORY.filter(
        (pl.col("key") == key) & pl.col("basis").str.starts_with("lifecycle")
    )["year"]
    assert lifecycle_years.len() > 0
    year = int(lifecycle_years.max())
    est = quiet(jobs([at(year)], [key]))
    assert est["grid_year"][0] > year
    direct = HISTORY.filter((pl.col("key") == key) & pl.col("basis").str.starts_with("direct"))
    charged = {**dict(zip(direct["year"], direct["grid_kgco2e_per_kwh"], strict=True))}
    charged[REGIONS[key]["year"]] = REGIONS[key]["grid_kgco2e_per_kwh"]
    assert est["grid_kgco2e_per_kwh_effective"][0] == charged[est["grid_year"][0]]


def test_latest_restores_the_regions_row_for_every_job() -> None:
    frame = jobs([at(2005), at(2015), None], ["AT", "DE", "FR"])
    latest = quiet(frame, grid_year="latest")
    assert "grid_year" not in latest.columns
    undated = quiet(frame.drop("start"))
    assert latest["operational_kgco2e"].to_list() == undated["operational_kgco2e"].to_list()
    by_year = quiet(frame)
    # A job without a start keeps the regions row's value, and its year.
    assert by_year["grid_year"][2] == REGIONS["FR"]["year"]
    assert by_year["operational_kgco2e"][2] == latest["operational_kgco2e"][2]
    assert by_year["operational_kgco2e"][0] != latest["operational_kgco2e"][0]
    with pytest.raises(ParameterError, match="grid_year"):
        fc.estimate(frame, grid_year="2020")  # type: ignore[arg-type]


def test_overrides_and_datacenters() -> None:
    frame = jobs([at(2005), at(2005)], ["AT", "AT"], grid_kgco2e_per_kwh=[0.3, None])
    est = quiet(frame)
    assert est["grid_basis"].to_list() == ["job", "annual"]
    assert est["grid_year"].to_list() == [None, 2005]
    assert est["grid_kgco2e_per_kwh_effective"].to_list() == [0.3, AT_HISTORY[2005]]
    # A job with only a datacenter is charged its datacenter's region's year.
    dc = FACTORS.datacenters.filter(pl.col("region") == "AT")
    if dc.height:
        by_dc = quiet(jobs([at(2005)], [None], datacenter=[dc["key"][0]]))  # type: ignore[list-item]
        assert by_dc["grid_kgco2e_per_kwh_effective"][0] == AT_HISTORY[2005]


def test_a_replaced_value_without_a_year_holds_for_every_year() -> None:
    new = {"grid_kgco2e_per_kwh": [0.05], "grid_kgco2e_per_kwh_low": [0.04]}
    new["grid_kgco2e_per_kwh_high"] = [0.06]
    undated = FACTORS.with_rows(regions=pl.DataFrame({"key": ["AT"], **new}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridYearWarning)
        est = quiet(jobs([at(1990), at(2005)], ["AT", "AT"]), undated)
    assert est["grid_kgco2e_per_kwh_effective"].to_list() == [0.05, 0.05]
    assert est["grid_year"].to_list() == [None, None]
    dated = FACTORS.with_rows(regions=pl.DataFrame({"key": ["AT"], "year": [2030], **new}))
    est = quiet(jobs([at(2005), at(2031)], ["AT", "AT"]), dated)
    assert est["grid_kgco2e_per_kwh_effective"].to_list() == [AT_HISTORY[2005], 0.05]


def test_factors_without_history_charge_the_regions_row() -> None:
    bare = dataclasses.replace(FACTORS, grid_history=None)
    est = quiet(jobs([at(2005)], ["AT"]), bare)
    assert (
        est["operational_kgco2e"][0]
        == quiet(jobs([at(2005)], ["AT"]), grid_year="latest")["operational_kgco2e"][0]
    )


MANY_KEYS = sorted(HISTORY.group_by("key").len().filter(pl.col("len") > 3)["key"].to_list())[:40]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*MANY_KEYS, "FR", "US-BA-PJM", "gcp:us-central1"]),
            st.one_of(st.none(), st.datetimes(dt.datetime(1995, 1, 1), dt.datetime(2032, 1, 1))),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_estimates_match_the_python_reference(cases: list[tuple[str, dt.datetime | None]]) -> None:
    starts = [None if s is None else s.replace(tzinfo=UTC) for _, s in cases]
    frame = jobs(starts, [k for k, _ in cases])
    est = quiet(frame)
    ref = estimate_python(frame, FACTORS)
    for column in ("operational_kgco2e", "operational_market_kgco2e", "total_kgco2e"):
        np.testing.assert_allclose(est[column], ref[column], rtol=1e-12)


def test_simulate_scales_each_draw_by_the_year_s_value() -> None:
    frame = jobs([at(2005), at(2015), at(2030)], ["AT", "AT", "AT"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_year = fc.simulate_detailed(frame, FACTORS, return_draws=True, draws=200, seed=3)
        latest = fc.simulate_detailed(
            frame, FACTORS, return_draws=True, draws=200, seed=3, grid_year="latest"
        )
    point = quiet(frame)
    assert by_year.summary["operational_kgco2e"][0] == pytest.approx(
        point["operational_kgco2e"].sum(), rel=1e-12
    )
    # One region: every draw of the fleet is the latest-year draw times one ratio.
    ratio = (
        point["operational_kgco2e"].sum()
        / quiet(frame, grid_year="latest")["operational_kgco2e"].sum()
    )
    np.testing.assert_allclose(
        by_year.draws.sort("draw")["operational_kgco2e"],
        latest.draws.sort("draw")["operational_kgco2e"] * ratio,
        rtol=1e-12,
    )


def test_jobs_without_any_start_keep_the_regions_row() -> None:
    frame = jobs([None, None], ["AT", "FR"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = quiet(frame)
    assert est["grid_year"].to_list() == [REGIONS["AT"]["year"], REGIONS["FR"]["year"]]
    assert (
        est["operational_kgco2e"].to_list()
        == quiet(frame, grid_year="latest")["operational_kgco2e"].to_list()
    )


def test_a_bad_history_value_is_refused() -> None:
    bad = pl.DataFrame({"key": ["FR"], "year": [2012], "grid_kgco2e_per_kwh": [-0.5]})
    history = pl.concat([HISTORY, bad], how="diagonal_relaxed")
    with pytest.raises(fc.errors.InvalidValueError, match=r"grid_history.*'FR', 2012, -0.5"):
        dataclasses.replace(FACTORS, grid_history=history, _checked=False)
