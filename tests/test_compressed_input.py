"""Compressed input (gzip, zstd, bzip2, xz) for every reader and the CLI.

Compression is told by the first bytes, whatever the name; the suffix under the
compression suffix tells the format. The logs are the real samples of tests/data.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import importlib.util
import lzma
import shutil
import warnings

import polars as pl
import pytest
from conftest import REPO

import fleetcarbon as fc
from fleetcarbon.cli import main
from fleetcarbon.errors import FleetcarbonError, SchemaError
from fleetcarbon.io import (
    detect_format,
    read_codecarbon,
    read_jobs,
    read_pbs,
    read_sacct,
    read_swf,
    scan_jobs,
)
from fleetcarbon.io.compression import (
    CompressionError,
    compression_of,
    inner_name,
    read_bytes,
    sniff,
)
from fleetcarbon.io.sacct import UnmappedAcceleratorWarning

DATA = REPO / "tests" / "data"
NASA = DATA / "NASA-iPSC-1993-3.1-cln.swf.gz"
HPC2N = DATA / "HPC2N-2002-2.2-cln-head300.swf"
CASPER = DATA / "ncar-casper-pbs-accounting.log"
EMISSIONS = DATA / "codecarbon-emissions-valid-headers.csv"
HAS_ZSTANDARD = importlib.util.find_spec("zstandard") is not None


def _zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


COMPRESSORS = {
    "gzip": (".gz", gzip.compress),
    "bzip2": (".bz2", bz2.compress),
    "xz": (".xz", lzma.compress),
    "zstd": (".zst", _zstd),
}
KINDS = [
    pytest.param(
        k,
        marks=pytest.mark.skipif(
            k == "zstd" and not HAS_ZSTANDARD, reason="zstandard is not installed"
        ),
    )
    for k in COMPRESSORS
]


def compressed(tmp_path, source, kind: str, name: str | None = None):
    suffix, compress = COMPRESSORS[kind]
    path = tmp_path / (name if name is not None else source.name + suffix)
    path.write_bytes(compress(source.read_bytes()))
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sniffing_and_names():
    assert sniff(gzip.compress(b"x")) == "gzip"
    assert sniff(bz2.compress(b"x")) == "bzip2"
    assert sniff(lzma.compress(b"x")) == "xz"
    assert sniff(b"\x28\xb5\x2f\xfd\x00") == "zstd"
    assert sniff(b"BZh is how this text starts") is None
    assert sniff(b"JobID|Start") is None
    assert inner_name("RICC-2010-2.swf.gz") == "RICC-2010-2.swf"
    assert inner_name("a/b/jobs.csv.ZST") == "a/b/jobs.csv"
    assert inner_name("20250301") == "20250301"
    assert compression_of(NASA) == "gzip" and compression_of(HPC2N) is None


@pytest.mark.parametrize("kind", KINDS)
def test_every_reader_reads_every_compression(tmp_path, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmappedAcceleratorWarning)
        from test_sacct import NEVER_STARTED

        sacct_log = tmp_path / "sacct.txt"
        sacct_log.write_text(NEVER_STARTED, encoding="utf-8")
        cases = [
            (sacct_log, read_sacct),
            (HPC2N, read_swf),
            (CASPER, read_pbs),
            (EMISSIONS, read_codecarbon),
        ]
        for source, reader in cases:
            expected = reader(source)
            for name in (None, "no-suffix"):
                path = compressed(tmp_path, source, kind, name)
                before = digest(path)
                assert reader(path).equals(expected), (reader, kind, name)
                assert reader(path.read_bytes()).equals(expected)
                assert digest(path) == before, "sources are only read"


@pytest.mark.parametrize("kind", KINDS)
def test_read_jobs_reads_compressed_csv_and_parquet(tmp_path, kind):
    fleet = fc.synthetic_fleet(300, seed=3).with_columns(pl.col(pl.Categorical).cast(pl.String))
    plain = tmp_path / "plain.csv"
    fleet.write_csv(plain)
    expected = read_jobs(plain)
    suffix, compress = COMPRESSORS[kind]
    for name in (f"jobs.csv{suffix}", f"jobs-{kind}.data"):
        path = tmp_path / name
        path.write_bytes(compress(plain.read_bytes()))
        assert read_jobs(path).equals(expected), name
        assert scan_jobs(path).collect().equals(expected), name
    parquet = tmp_path / "plain.parquet"
    fleet.write_parquet(parquet)
    packed = tmp_path / f"jobs.parquet{suffix}"
    packed.write_bytes(compress(parquet.read_bytes()))
    assert read_jobs(packed).equals(read_jobs(parquet))


def test_a_glob_of_gzipped_csv(tmp_path):
    fleet = fc.synthetic_fleet(400, seed=5).with_columns(pl.col(pl.Categorical).cast(pl.String))
    for i, part in enumerate((fleet[:200], fleet[200:])):
        (tmp_path / f"part-{i}.csv.gz").write_bytes(gzip.compress(part.write_csv().encode()))
    (tmp_path / "part-2.csv.bz2").write_bytes(bz2.compress(fleet[:0].write_csv().encode()))
    jobs = read_jobs(str(tmp_path / "part-*.csv.gz"))
    assert jobs.height == 400
    est = fc.estimate(jobs)
    assert est["total_kgco2e"].sum() == pytest.approx(fc.estimate(fleet)["total_kgco2e"].sum())
    mixed = read_jobs(str(tmp_path / "part-*.csv.*"))  # gzip and bzip2 together
    assert mixed.height == 400


def test_damaged_and_missing_decompressors(tmp_path, monkeypatch):
    truncated = tmp_path / "cut.swf.gz"
    truncated.write_bytes(NASA.read_bytes()[:5000])
    with pytest.raises(CompressionError, match=r"cut\.swf\.gz.*gzip.*truncated or damaged"):
        read_swf(truncated)
    assert isinstance(CompressionError("x"), SchemaError)
    # zstd without the zstandard package: an ImportError that says what to install.
    import builtins

    real_import = builtins.__import__

    def no_zstandard(name, *args, **kwargs):
        if name == "zstandard":
            raise ImportError("No module named 'zstandard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_zstandard)
    with pytest.raises(ImportError, match="pip install zstandard"):
        read_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 16)


def test_formats_are_told_under_the_compression_suffix_or_by_content(tmp_path):
    assert detect_format(NASA) == "swf"
    nameless = tmp_path / "log"
    shutil.copy(NASA, nameless)
    assert detect_format(nameless) == "swf", "a gzipped SWF without suffix is sniffed"
    assert detect_format(compressed(tmp_path, CASPER, "bzip2", "20250416")) == "pbs"
    assert detect_format(compressed(tmp_path, EMISSIONS, "xz")) == "codecarbon"
    assert detect_format(EMISSIONS) == "codecarbon"
    sacct = tmp_path / "sacct.txt.gz"
    sacct.write_bytes(gzip.compress(b"JobID|Start|End|ElapsedRaw|NCPUS\n1|x|y|60|4\n"))
    assert detect_format(sacct) == "sacct"
    fleet = tmp_path / "fleet.csv.gz"
    fleet.write_bytes(gzip.compress(fc.synthetic_fleet(10, seed=1).write_csv().encode()))
    assert detect_format(fleet) == "csv"
    assert detect_format(str(tmp_path / "fleet*.gz")) == "csv"
    parquet = tmp_path / "jobs.bin"
    fc.synthetic_fleet(10, seed=1).write_parquet(parquet)
    assert detect_format(parquet) == "parquet"
    assert detect_format(tmp_path / "missing") == "sacct", "the reader then says why"


def test_cli_estimates_a_gzipped_swf_with_a_cluster_toml(tmp_path, capsys):
    config = tmp_path / "nasa.toml"
    config.write_text('name = "ipsc"\nregion = "US-CA"\n', encoding="utf-8")
    out = tmp_path / "jobs.parquet"
    code = main(["--quiet", "estimate", str(NASA), "--cluster", str(config), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    est = pl.read_parquet(out)
    assert est.height == 18_239
    assert (est["cluster"] == "ipsc").all() and est["total_kgco2e"].is_finite().all()
    expected = fc.estimate(read_swf(NASA, cluster=config))
    assert est["total_kgco2e"].sum() == pytest.approx(expected["total_kgco2e"].sum(), rel=1e-12)
    # Without the .gz or .swf suffix, the content says gzip, then SWF: never sacct.
    nameless = tmp_path / "ipsc-log"
    shutil.copy(NASA, nameless)
    out2 = tmp_path / "jobs2.parquet"
    assert (
        main(["--quiet", "estimate", str(nameless), "--cluster", str(config), "-o", str(out2)]) == 0
    )
    assert pl.read_parquet(out2).equals(est)


def test_cli_reads_compressed_sacct_pbs_and_codecarbon(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('region = "US"\naccelerator = "nvidia-v100-pcie-32gb"\n', encoding="utf-8")
    sacct = tmp_path / "sacct.txt.xz"
    sacct.write_bytes(
        lzma.compress(
            b"JobID|Start|End|ElapsedRaw|NCPUS|AllocTRES\n"
            b"1|2025-01-01T00:00:00|2025-01-01T01:00:00|3600|4|cpu=4\n"
        )
    )
    assert main(["--quiet", "estimate", str(sacct), "--cluster", str(config)]) == 0
    pbs = compressed(tmp_path, CASPER, "gzip", "20250416")
    gp100 = tmp_path / "casper.toml"  # Casper's GP100s are Pascal-generation PCIe cards
    gp100.write_text('region = "US"\n[gres]\ngp100 = "nvidia-p100-pcie-16gb"\n', encoding="utf-8")
    assert main(["--quiet", "estimate", str(pbs), "--cluster", str(gp100)]) == 0
    emissions = compressed(tmp_path, EMISSIONS, "bzip2")
    assert main(["--quiet", "estimate", str(emissions)]) == 0
    assert "total_kgco2e" in capsys.readouterr().out


def test_cli_on_invalid_reaches_the_reader_and_estimate(tmp_path, capsys):
    log = tmp_path / "jobs.swf.gz"
    lines = HPC2N.read_text().splitlines()
    lines.insert(30, "this is not an SWF line")
    log.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert main(["--quiet", "estimate", str(log)]) == 1
    assert "line" in capsys.readouterr().err
    # Malformed lines dropped by the reader; without --cluster, estimate drops every job
    # (no region): --on-invalid reaches both.
    config = tmp_path / "c.toml"
    config.write_text('region = "SE"\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = ["--quiet", "estimate", str(log), "--on-invalid", "drop"]
        assert main([*args, "--cluster", str(config)]) == 0
        assert main(["--quiet", "estimate", str(log), "--cluster", str(config)]) == 1
        assert "use on_invalid='drop'" in capsys.readouterr().err
        out = tmp_path / "none.csv"
        assert main([*args, "-o", str(out)]) == 0  # estimate drops every job: no region
    assert pl.read_csv(out).height == 0


def test_cli_map_and_option_checks(tmp_path, capsys):
    fleet = fc.synthetic_fleet(50, seed=2).with_columns(pl.col(pl.Categorical).cast(pl.String))
    path = tmp_path / "jobs.csv.gz"
    path.write_bytes(
        gzip.compress(fleet.rename({"job_id": "id", "region": "site"}).write_csv().encode())
    )
    out = tmp_path / "est.csv"
    args = ["--quiet", "estimate", str(path), "--map", "job_id=id", "--map", "region=site"]
    assert main([*args, "-o", str(out)]) == 0, capsys.readouterr().err
    assert pl.read_csv(out).height == 50
    assert main(["--quiet", "estimate", str(path), "--map", "job_id"]) == 2
    assert "COLUMN=SOURCE" in capsys.readouterr().err
    assert main(["--quiet", "estimate", str(NASA), "--map", "job_id=id"]) == 2
    assert "--map applies to csv and parquet" in capsys.readouterr().err
    assert main(["--quiet", "estimate", str(path), "--cluster", str(path)]) == 2
    assert "--cluster applies to" in capsys.readouterr().err
    assert main(["--quiet", "estimate", str(path), "--format", "swf"]) == 1
    assert "fleetcarbon: error:" in capsys.readouterr().err


def test_errors_are_fleetcarbon_errors(tmp_path):
    noise = tmp_path / "noise.swf.gz"
    noise.write_bytes(gzip.compress(bytes(range(256)) * 4))
    with pytest.raises(FleetcarbonError, match="binary"):
        read_swf(noise)
