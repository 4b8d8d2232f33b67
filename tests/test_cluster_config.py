"""The cluster config: GPU types and counts from gres, nodes, partitions, defaults and mixes.

The rules are those of fleetcarbon.io.cluster's docstring: a typed gres (MIG profiles
to their parent GPU and share), then the node and partition entries (a key, or a
table that can count GPUs with gpus_per_node), gres.default for untyped gres, the
accelerator default, then gpu_mix (a mix key: tests/test_mixes.py tests its rows).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

import fleetcarbon as fc
from fleetcarbon.io.cluster import ClusterConfig, ClusterConfigError, GpuSpec, load_cluster_config
from fleetcarbon.io.sacct import (
    InferredGpusWarning,
    MissingGresWarning,
    UnmappedAcceleratorWarning,
    parse_mig,
    read_sacct,
)
from fleetcarbon.io.sacct.accelerators import count_hosts
from fleetcarbon.io.sacct.mig import DEFAULT_80GB_PARENT

V100, T4, A100_80, A100_40 = (
    "nvidia-v100-sxm2-32gb",
    "nvidia-t4-16gb",
    "nvidia-a100-sxm4-80gb",
    "nvidia-a100-sxm4-40gb",
)
H100 = "nvidia-h100-sxm5-80gb"


def text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def read(src: str, **cluster: object) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_sacct(src, cluster=cluster)


# ----------------------------------------------------------------------------- loading


def test_tables_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(
        'region = "FR"\n'
        '[gres]\ndefault = "nvidia-v100-sxm2-32gb"\n"a100_1g.10gb" = "nvidia-a100-pcie-80gb"\n'
        '[partitions]\ncpu = "nvidia-t4-16gb"\n'
        '[partitions.dgx]\naccelerator = "nvidia-h100-sxm5-80gb"\ngpus_per_node = 8\n'
        "cpus_per_node = 112\n"
        '[nodes]\n"gn*" = { gpus_per_node = 4 }\n',
        encoding="utf-8",
    )
    cfg = load_cluster_config(path)
    assert cfg.gres_default == V100
    assert cfg.partitions == {
        "cpu": T4,
        "dgx": GpuSpec(accelerator=H100, gpus_per_node=8.0, cpus_per_node=112.0),
    }
    assert cfg.partition_spec("dgx,cpu") == cfg.partitions["dgx"]  # a list: its first entry
    assert cfg.partition_spec("cpu") == GpuSpec(accelerator=T4)
    assert cfg.node_spec("gn12") == GpuSpec(gpus_per_node=4.0)
    assert cfg.node_accelerator("gn12") is None and cfg.node_spec("cn1") is None


def test_mix_in_toml(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(
        'region = "FR"\n[gpu_mix]\n"nvidia-v100-sxm2-32gb" = 0.7\n"nvidia-t4-16gb" = 0.3\n',
        encoding="utf-8",
    )
    assert load_cluster_config(path).gpu_mix == {V100: 0.7, T4: 0.3}


def test_string_entries_are_kept_as_they_were() -> None:
    # Backward compatible: the old map form compares and reads as before.
    cfg = ClusterConfig(partitions={"gpu": V100}, nodes={"dgx*": H100})
    assert cfg.partitions == {"gpu": V100} and cfg.node_accelerator("dgx01") == H100
    assert cfg == load_cluster_config({"partitions": {"gpu": V100}, "nodes": {"dgx*": H100}})


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"partitions": {"gpu": {"gpus_per_node": -1}}}, "gpus_per_node"),
        ({"partitions": {"gpu": {"gpus_per_node": float("inf")}}}, "gpus_per_node"),
        ({"partitions": {"gpu": {"gpus_per_node": True}}}, "gpus_per_node"),
        ({"partitions": {"gpu": {"gpus_per_node": "4"}}}, "gpus_per_node"),
        ({"partitions": {"gpu": {"gpus_per_node": 4, "cpus_per_node": 0}}}, "cpus_per_node"),
        ({"partitions": {"gpu": {"cpus_per_node": 64, "accelerator": V100}}}, "needs"),
        ({"partitions": {"gpu": {}}}, "accelerator"),
        ({"partitions": {"gpu": {"accelerator": ""}}}, "accelerator"),
        ({"partitions": {"gpu": {"gpus": 4}}}, "unknown keys"),
        ({"nodes": {"gn*": 4}}, "nodes"),
        ({"nodes": ["gn*"]}, "nodes"),
        ({"gres": {"default": 1}}, "gres"),
        ({"gpu_mix": {V100: 0.7, T4: 0.2}}, "sum to 1"),
        ({"gpu_mix": {V100: 1.2, T4: -0.2}}, "> 0"),
        ({"gpu_mix": {V100: 0.0, T4: 1.0}}, "> 0"),
        ({"gpu_mix": {V100: True}}, "weights"),
        ({"gpu_mix": {V100: "1"}}, "weights"),
        ({"gpu_mix": [V100]}, "weights"),
        ({"gpu_mix": {V100: 1.0}, "accelerator": T4}, "keep one"),
        ({"gpu_mix": {V100: 1.0}, "gres": {"default": T4}}, "keep one"),
    ],
)
def test_invalid_gpu_entries(bad: dict, match: str) -> None:
    with pytest.raises(ClusterConfigError, match=match):
        load_cluster_config(bad)


def test_mix_keys_must_be_accelerators() -> None:
    src = text("JobID|Elapsed|AllocTRES", "1|01:00|gres/gpu=1")
    with pytest.raises(ClusterConfigError, match=r"gpu_mix.*nvidia-v100-sxm2-32gb"):
        read_sacct(src, cluster={"gpu_mix": {"nvidia-v100-sxm2-32": 0.5, T4: 0.5}})
    # Aliases resolve; custom tables are used when given.
    jobs = read(src, region="FR", gpu_mix={"v100": 0.5, "Tesla T4": 0.5})
    assert jobs["accelerator"][0] == f"mix:{V100}=0.5,{T4}=0.5"
    assert fc.estimate(jobs)["it_energy_kwh"][0] == pytest.approx(
        fc.estimate(jobs.with_columns(accelerator=pl.lit(V100)))["it_energy_kwh"][0] / 2
        + fc.estimate(jobs.with_columns(accelerator=pl.lit(T4)))["it_energy_kwh"][0] / 2
    )
    factors = fc.load_factors().with_rows(
        accelerators=pl.DataFrame(
            {"key": ["my-gpu"], "tdp_w": [100.0], "host_power_w": [10.0], "embodied_kgco2e": [1.0]}
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = {"region": "FR", "gpu_mix": {"my-gpu": 0.5, T4: 0.5}}
        jobs = read_sacct(src, cluster=cluster, factors=factors)
    assert jobs["accelerator"][0] == f"mix:my-gpu=0.5,{T4}=0.5"
    with pytest.raises(fc.errors.UnknownKeyError, match="my-gpu"):
        fc.estimate(jobs)  # the bundled tables have no such row
    assert fc.estimate(jobs, factors)["it_energy_kwh"][0] > 0
    with pytest.raises(ClusterConfigError, match="my-gpu"):
        read_sacct(src, cluster={"gpu_mix": {"my-gpu": 0.5, T4: 0.5}})


# ----------------------------------------------------------------------------- types


def test_untyped_gres_take_the_gres_default_after_nodes_and_partitions() -> None:
    src = text(
        "JobID|Elapsed|Partition|NodeList|AllocTRES",
        "1|01:00|gpu|dgx01|gres/gpu=1",  # node entry
        "2|01:00|gpu|cn1|gres/gpu=1",  # partition entry
        "3|01:00|other|cn1|gres/gpu=1",  # gres.default
        "4|01:00|other|cn1|gres/gpu:volta=1",  # typed: its own type, not the default
        "5|01:00|other|cn1|cpu=1",  # no GPU
    )
    cfg = {
        "gres": {"default": V100, "volta": "nvidia-v100-pcie-16gb"},
        "nodes": {"dgx": H100},
        "partitions": {"gpu": T4},
        "accelerator": "nvidia-l4-24gb",
    }
    jobs = read(src, **cfg)
    assert jobs["accelerator"].to_list() == [H100, T4, V100, "nvidia-v100-pcie-16gb", None]
    # Without gres.default, the accelerator default types untyped gres.
    del cfg["gres"]["default"]  # type: ignore[attr-defined]
    assert read(src, **cfg)["accelerator"][2] == "nvidia-l4-24gb"


@pytest.mark.parametrize(
    ("gres_type", "key", "share"),
    [
        ("a100_1g.5gb", A100_40, 1 / 7),
        ("a100_2g.10gb", A100_40, 2 / 7),
        ("a100_3g.20gb", A100_40, 3 / 7),
        ("a100_4g.20gb", A100_40, 4 / 7),
        ("a100_7g.40gb", A100_40, 1.0),
        ("a100_1g.10gb", A100_80, 1 / 7),
        ("a100_1g.20gb", A100_80, 1 / 7),
        ("a100_2g.20gb", A100_80, 2 / 7),
        ("a100_3g.40gb", A100_80, 3 / 7),
        ("a100_4g.40gb", A100_80, 4 / 7),
        ("a100_7g.80gb", A100_80, 1.0),
        ("h100_1g.10gb", H100, 1 / 7),
        ("h100_3g.40gb", H100, 3 / 7),
        ("nvidia_h100_80gb_hbm3_2g.20gb", H100, 2 / 7),
        ("h100_1g.12gb", "nvidia-h100-nvl-94gb", 1 / 7),
        ("h200_3g.71gb", "nvidia-h200-sxm-141gb", 3 / 7),
        ("1g.23gb", "nvidia-b200-sxm-180gb", 1 / 7),
        ("1g.5gb", A100_40, 1 / 7),
        ("3g.40gb", DEFAULT_80GB_PARENT, 3 / 7),
        ("1g.10gb+me", DEFAULT_80GB_PARENT, 1 / 7),
        ("mig-2g.20gb", DEFAULT_80GB_PARENT, 2 / 7),
        ("A100_MIG_1G.5GB", A100_40, 1 / 7),
        ("a100_1c.3g.40gb", A100_80, 3 / 7),
        ("a30_1g.6gb", "a30", 1 / 4),  # no A30 row: the parent name as written
        ("a30_4g.24gb", "a30", 1.0),
    ],
)
def test_mig_profiles_are_shares_of_their_parent_gpu(
    gres_type: str, key: str, share: float
) -> None:
    jobs = read(text("JobID|Elapsed|AllocTRES", f"1|01:00|cpu=8,gres/gpu:{gres_type}=2"))
    assert jobs["accelerator"][0] == key
    assert jobs["accelerator_count"][0] == pytest.approx(2 * share)
    mig = parse_mig(gres_type)
    assert mig is not None and mig.fraction == pytest.approx(share)


@pytest.mark.parametrize("gres_type", ["a100", "tesla", "a100_80gb", "8g.96gb", "1g", "gpu.5gb"])
def test_other_types_are_not_mig(gres_type: str) -> None:
    assert parse_mig(gres_type) is None


def test_mig_parent_from_the_config() -> None:
    src = text(
        "JobID|Elapsed|NodeList|AllocTRES",
        "1|01:00|cn1|gres/gpu:a100_1g.10gb=1",  # the whole type mapped
        "2|01:00|cn1|gres/gpu:a100_1g.5gb=1",  # the parent name mapped
        "3|01:00|hgx01|gres/gpu:3g.40gb=1",  # no parent name: the node's GPU
        "4|01:00|cn1|gres/gpu:3g.40gb=1",  # nothing: the documented default
        "5|01:00|cn1|gres/gpu:a100_1g.10gb=2,gres/gpu:a100_3g.40gb=1",  # summed shares
        "6|01:00|cn1|gres/gpu=1,gres/gpu:h100_1g.10gb=1",  # untyped total beside typed
    )
    cfg = {
        "gres": {"a100_1g.10gb": "nvidia-a100-pcie-80gb", "a100": "nvidia-a100-pcie-40gb"},
        "nodes": {"hgx": H100},
    }
    jobs = read(src, **cfg)
    assert jobs["accelerator"].to_list() == [
        "nvidia-a100-pcie-80gb",
        "nvidia-a100-pcie-40gb",
        H100,
        DEFAULT_80GB_PARENT,
        "nvidia-a100-pcie-80gb",
        H100,
    ]
    assert jobs["accelerator_count"].to_list() == pytest.approx(
        [1 / 7, 1 / 7, 3 / 7, 3 / 7, 5 / 7, 1 / 7]
    )


def test_mig_share_is_used_for_energy_and_embodied_carbon() -> None:
    src = text(
        "JobID|ElapsedRaw|NCPUS|AllocTRES",
        "1|36000|8|cpu=8,gres/gpu:a100=1",
        "2|36000|8|cpu=8,gres/gpu:a100_1g.10gb=7",
        "3|36000|8|cpu=8,gres/gpu:a100_3g.40gb=1",
    )
    jobs = read(src, region="FR", gres={"a100": A100_80})
    assert jobs["accelerator"].to_list() == [A100_80] * 3
    out = fc.estimate(jobs)
    for column in ("it_energy_kwh", "embodied_hardware_kgco2e", "total_kgco2e"):
        full, sevenths, three = out[column].to_list()
        assert sevenths == pytest.approx(full) and three == pytest.approx(full * 3 / 7), column


def test_count_hosts() -> None:
    assert count_hosts("cn1") == 1
    assert count_hosts("cn[01-03,07],gpu1") == 5
    assert count_hosts("d09n04s[01-02],d13n[03,05,07-08,16]") == 7
    assert count_hosts("a[1-2]b[1-3]") == 6
    assert count_hosts("None assigned") is None
    assert count_hosts(None) is None
    assert count_hosts("cn[3-1]") is None
    assert count_hosts("cn[1-2") is None


# ----------------------------------------------------------------------------- counts

#: One cluster where gres/gpu is not accounted on some lines (as on the cluster where
#: 9 of 20 GPU-partition allocations had none): NNodes, TRES node= and NodeList counts.
NO_GRES = text(
    "JobID|Elapsed|Partition|NodeList|NNodes|NCPUS|AllocTRES",
    "1|01:00|gpu|gn01|1|8|cpu=8,mem=10G,node=1",  # 1 node x 4
    "2|01:00|gpu|gn[01-02]|2|128|cpu=128,mem=10G,node=2",  # 2 nodes x 4
    "3|01:00|gpu|gn[01-03]||32|cpu=32,mem=10G",  # NodeList: 3 hosts x 4
    "4|01:00|gpu|gn01||8|cpu=8,node=2",  # TRES node=2 x 4
    "5|01:00|gpu|gn01|1|8|cpu=8,gres/gpu=1",  # gres accounted: TRES wins
    "6|01:00|cpu|cn01|1|8|cpu=8",  # unmapped partition: a CPU job
    "7|01:00|gpu|None assigned|1|8|cpu=8",  # NNodes
    "8|00:00|gpu|None assigned|1|8|cpu=8",  # ... no elapsed: still a job (it started)
)


def test_gpus_per_node_counts_gpus_of_jobs_without_gres() -> None:
    cfg = {"partitions": {"gpu": {"accelerator": V100, "gpus_per_node": 4}}}
    with pytest.warns(InferredGpusWarning, match=r"^6 jobs .*first: 1, 2, 3, 4, 7") as seen:
        jobs = read_sacct(NO_GRES, cluster=cfg)
    assert len([w for w in seen if w.category is InferredGpusWarning]) == 1
    assert jobs["accelerator_count"].to_list() == [4, 8, 12, 8, 1, 0, 4, 4]
    assert jobs["accelerator"].to_list() == [V100] * 5 + [None] + [V100] * 2


def test_cpus_per_node_shares_the_node() -> None:
    cfg = {"partitions": {"gpu": {"accelerator": V100, "gpus_per_node": 4, "cpus_per_node": 64}}}
    jobs = read(NO_GRES, **cfg)
    # 8 of 64 CPUs: half a GPU; 128 CPUs on 2 nodes: 8; at most the job's nodes.
    assert jobs["accelerator_count"].to_list() == pytest.approx([0.5, 8, 2, 0.5, 1, 0, 0.5, 0.5])


def test_node_entries_count_before_partition_entries() -> None:
    src = text(
        "JobID|Elapsed|Partition|NodeList|NNodes|AllocTRES",
        "1|01:00|gpu|dgx01|1|cpu=8",
        "2|01:00|gpu|gn01|1|cpu=8",
        "3|01:00|gpu|gn01|1|gres/gpu=1",
    )
    cfg = {
        "nodes": {"dgx*": {"accelerator": H100, "gpus_per_node": 8}, "gn": T4},
        "partitions": {"gpu": {"accelerator": V100, "gpus_per_node": 2}},
    }
    jobs = read(src, **cfg)
    # The count and the type are each the first an entry gives: node, then partition.
    assert jobs["accelerator_count"].to_list() == [8, 2, 1]
    assert jobs["accelerator"].to_list() == [H100, T4, T4]


def test_type_only_entries_warn_about_jobs_without_gres() -> None:
    cfg = {"partitions": {"gpu": V100}}
    with pytest.warns(MissingGresWarning, match=r"^6 jobs on partitions or nodes .*CPU-only"):
        jobs = read_sacct(NO_GRES, cluster=cfg)
    assert jobs["accelerator_count"].to_list() == [0, 0, 0, 0, 1, 0, 0, 0]
    # gpus_per_node = 0 says that they use no GPU: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jobs = read_sacct(
            NO_GRES, cluster={"partitions": {"gpu": {"accelerator": V100, "gpus_per_node": 0}}}
        )
    assert jobs["accelerator_count"].to_list() == [0, 0, 0, 0, 1, 0, 0, 0]


def test_counted_gpus_without_a_type_warn_and_take_the_default() -> None:
    cfg: dict = {"partitions": {"gpu": {"gpus_per_node": 2}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferredGpusWarning)
        with pytest.warns(UnmappedAcceleratorWarning, match="^7 GPU jobs"):
            jobs = read_sacct(NO_GRES, cluster=cfg)
    assert jobs["accelerator"].null_count() == jobs.height
    cfg["accelerator"] = T4
    assert read(NO_GRES, **cfg)["accelerator"].to_list() == [T4] * 5 + [None] + [T4] * 2
    # gres.default is the type of untyped gres entries, not of counted GPUs.
    cfg = {"partitions": {"gpu": {"gpus_per_node": 2}}, "gres": {"default": V100}}
    assert read(NO_GRES, **cfg)["accelerator"].to_list() == [None] * 4 + [V100] + [None] * 3


def test_counted_gpus_go_through_estimate() -> None:
    cfg = {"region": "FR", "partitions": {"gpu": {"accelerator": V100, "gpus_per_node": 4}}}
    jobs = read(NO_GRES, **cfg)
    out = fc.estimate(jobs)
    by_id = dict(zip(out["job_id"], out["it_energy_kwh"], strict=True))
    assert by_id["2"] == pytest.approx(2 * by_id["1"])  # 8 GPUs against 4, the same hour
    assert by_id["6"] < by_id["1"] / 10  # the CPU job


# ----------------------------------------------------------------------------- mixes

MIX = {V100: 0.7, T4: 0.3}


def accelerator_rows(*keys: str) -> dict[str, dict[str, float]]:
    table = fc.load_factors().accelerators
    return {k: table.filter(pl.col("key") == k).row(0, named=True) for k in keys}


MIX_KEY = f"mix:{V100}=0.7,{T4}=0.3"


def test_gpu_mix_types_untyped_gpus_with_its_mix_key() -> None:
    src = text(
        "JobID|Elapsed|AllocTRES",
        "1|01:00|cpu=8,gres/gpu=2",  # untyped: the mix
        "2|01:00|cpu=8,gres/gpu:a100=1",  # typed: its type
        "3|01:00|cpu=8",  # CPU job
    )
    jobs = read(src, gpu_mix=MIX)
    assert jobs["accelerator"].to_list() == [MIX_KEY, "a100", None]
    assert jobs["accelerator_count"].to_list() == [2, 1, 0]
    assert not any(c.endswith(("_low", "_high")) or c == "tdp_w" for c in jobs.columns)
    # Aliases and other spellings become the canonical keys.
    assert read(src, gpu_mix={"v100": 0.7, "Tesla T4": 0.3})["accelerator"][0] == MIX_KEY


def test_gpu_mix_is_the_expected_footprint_in_estimate() -> None:
    src = text("JobID|ElapsedRaw|NCPUS|AllocTRES", "1|36000|8|cpu=8,gres/gpu=2")
    mixed = fc.estimate(read(src, region="FR", gpu_mix=MIX))
    each = {k: fc.estimate(read(src, region="FR", accelerator=k)) for k in MIX}
    for column in ("it_energy_kwh", "embodied_hardware_kgco2e", "total_kgco2e"):
        expected = sum(w * each[k][column].item() for k, w in MIX.items())
        assert mixed[column].item() == pytest.approx(expected, rel=1e-12), column


def test_gpu_mix_in_simulate_is_the_mean_of_its_types_in_every_draw() -> None:
    src = text("JobID|ElapsedRaw|NCPUS|AllocTRES", "1|36000|8|cpu=8,gres/gpu=1")
    kwargs = {"draws": 500, "seed": 11, "return_draws": True}
    mixed = fc.simulate_detailed(read(src, region="FR", gpu_mix=MIX), **kwargs)  # type: ignore[arg-type]
    each = {
        k: fc.simulate_detailed(read(src, region="FR", accelerator=k), **kwargs).draws  # type: ignore[arg-type]
        for k in MIX
    }
    for column in ("it_energy_kwh", "total_kgco2e"):
        expected = sum(w * each[k][column].to_numpy() for k, w in MIX.items())
        assert mixed.draws[column].to_numpy() == pytest.approx(expected, rel=1e-12), column


def test_gpu_mix_of_one_key_is_that_key() -> None:
    jobs = read(text("JobID|Elapsed|AllocTRES", "1|01:00|gres/gpu=1"), gpu_mix={"v100": 1.0})
    assert jobs["accelerator"].to_list() == [V100]


def test_gpu_mix_naming_one_accelerator_twice_is_refused() -> None:
    with pytest.raises(ClusterConfigError, match="twice"):
        read_sacct(text("JobID|Elapsed", "1|01:00"), cluster={"gpu_mix": {"v100": 0.5, V100: 0.5}})


def test_gpu_mix_types_counted_gpus_too() -> None:
    jobs = read(NO_GRES, gpu_mix=MIX, partitions={"gpu": {"gpus_per_node": 4}})
    mixed = (jobs["accelerator"] == MIX_KEY).fill_null(False).to_list()
    assert mixed == [True] * 5 + [False] + [True] * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferredGpusWarning)
        warnings.simplefilter("error", UnmappedAcceleratorWarning)
        read_sacct(NO_GRES, cluster={"gpu_mix": MIX, "partitions": {"gpu": {"gpus_per_node": 4}}})


def test_gpu_mix_does_not_type_typed_gres() -> None:
    # A MIG profile nothing names the parent of is a typed GPU: warned, not mixed.
    src = text("JobID|Elapsed|AllocTRES", "1|01:00|gres/gpu:5g.60gb=1", "2|01:00|gres/gpu=1")
    with pytest.warns(UnmappedAcceleratorWarning, match="^1 GPU job .*first: 1$"):
        jobs = read_sacct(src, cluster={"gpu_mix": MIX})
    assert jobs["accelerator"].to_list() == [None, MIX_KEY]
    assert jobs["accelerator_count"].to_list() == pytest.approx([5 / 7, 1])
    single = read(src, gpu_mix={T4: 1.0})
    assert single["accelerator"].to_list() == [None, T4]
