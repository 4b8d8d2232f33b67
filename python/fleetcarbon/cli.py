"""The ``fleetcarbon`` command line (click)."""

from __future__ import annotations

import contextlib
import glob
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import polars as pl

from fleetcarbon.errors import FleetcarbonError, ParameterError

if TYPE_CHECKING:
    from fleetcarbon.factors import Factors
    from fleetcarbon.parameters import OnInvalid

TABLE_FILES = ("accelerators", "cpus", "regions", "datacenters", "defaults")
#: Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class _Interrupted(Exception):
    """Ctrl-C, carried past click (which would turn a KeyboardInterrupt into Abort) to main()."""


class _Group(click.Group):
    """Turn errors into one line and a non-zero exit, unless ``--debug``."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            raise _Interrupted from exc
        except (
            FleetcarbonError,
            ValueError,
            OSError,
            ImportError,
            pl.exceptions.PolarsError,
        ) as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"fleetcarbon: error: {exc}".splitlines()[0], err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--quiet", is_flag=True, help="Print only what the command outputs.")
@click.version_option(package_name="fleetcarbon")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Lifecycle carbon of compute jobs.

    \b
    Examples:
      fleetcarbon demo
      fleetcarbon estimate sacct.txt --cluster cluster.toml -o jobs.parquet
      fleetcarbon simulate jobs.parquet --draws 2000 --by team,phase -o summary.parquet
      fleetcarbon report jobs.parquet --by team -o report/
      fleetcarbon factors show nvidia-h100-sxm5-80gb
    """
    ctx.obj = {"debug": debug, "quiet": quiet}


def _say(ctx: click.Context, message: str) -> None:
    if not ctx.obj.get("quiet"):
        click.echo(message, err=True)


def _read_input(
    path: str, fmt: str | None, cluster: str | None, fields: str | None = None
) -> pl.DataFrame:
    """Read job records in any input format; compressed files too.

    The format is ``--format``, else told by the suffix under any compression
    suffix (``.swf.gz`` is SWF), else by the content
    (:func:`fleetcarbon.io.detect_format`). ``--on-invalid`` and ``--map`` come
    from the command's context.
    """
    from fleetcarbon.io import (
        detect_format,
        read_codecarbon,
        read_jobs,
        read_pbs,
        read_sacct,
        read_swf,
    )
    from fleetcarbon.io.compression import compression_of, read_bytes

    settings = _input_settings()
    on_invalid, mapping = settings["on_invalid"], settings["mapping"]
    if fmt is None:
        fmt = detect_format(path)
    if fields is not None and fmt != "sacct":
        raise click.UsageError(f"--fields applies to sacct input only (INPUT is {fmt})")
    if cluster is not None and fmt not in ("sacct", "swf", "pbs"):
        raise click.UsageError(f"--cluster applies to sacct, swf and pbs input (INPUT is {fmt})")
    if mapping and fmt not in ("csv", "parquet"):
        raise click.UsageError(f"--map applies to csv and parquet input (INPUT is {fmt})")
    if fmt == "sacct":
        # read_sacct reads plain text: a compressed file is decompressed here.
        source: Path | bytes = Path(path)
        if compression_of(path) is not None:
            source = read_bytes(path)
        return read_sacct(source, cluster=cluster, fields=fields, on_invalid=on_invalid)
    if fmt == "swf":
        return read_swf(Path(path), cluster=cluster, on_invalid=on_invalid)
    if fmt == "pbs":
        return read_pbs(path, cluster=cluster, on_invalid=on_invalid)  # a glob of daily logs
    if fmt == "codecarbon":
        return read_codecarbon(Path(path), on_invalid=on_invalid)
    return read_jobs(path, format=fmt, mapping=mapping or None, on_invalid=on_invalid)  # type: ignore[arg-type]


#: Where the input options that reach no command parameter are kept (``ctx.meta``).
_INPUT_SETTINGS = "fleetcarbon.input"


def _input_settings() -> dict[str, Any]:
    """``--on-invalid`` and ``--map`` of the running command (defaults outside one)."""
    ctx = click.get_current_context(silent=True)
    stored = ctx.meta.get(_INPUT_SETTINGS, {}) if ctx is not None else {}
    return {
        "on_invalid": stored.get("on_invalid", "raise"),
        "mapping": stored.get("mapping", {}),
        "grid_series": stored.get("grid_series", ()),
        "cfe_supply": stored.get("cfe_supply", ()),
        "grid_year": stored.get("grid_year", "job"),
    }


def _on_invalid() -> OnInvalid:
    """``--on-invalid`` of the running command, for estimate and simulate."""
    from fleetcarbon.parameters import check_on_invalid

    return check_on_invalid(_input_settings()["on_invalid"])


def _model_options() -> dict[str, Any]:
    """``--on-invalid`` and ``--grid-year`` of the running command, as keyword arguments."""
    return {"on_invalid": _on_invalid(), "grid_year": _input_settings()["grid_year"]}


def _store_setting(ctx: click.Context, param: click.Parameter, value: object) -> object:
    ctx.meta.setdefault(_INPUT_SETTINGS, {})[param.name] = value
    return value


def _store_mapping(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> object:
    mapping: dict[str, str] = {}
    for item in value:
        column, sep, source = item.partition("=")
        column, source = column.strip(), source.strip()
        if not sep or not column or not source:
            raise click.BadParameter(f"{item!r} is not COLUMN=SOURCE", ctx=ctx, param=param)
        if column in mapping:
            raise click.BadParameter(f"column {column!r} is mapped twice", ctx=ctx, param=param)
        mapping[column] = source
    ctx.meta.setdefault(_INPUT_SETTINGS, {})["mapping"] = mapping
    return mapping


def _factors(directory: str | None) -> Factors:
    """Return the tables of :func:`_tables` with every ``--grid-series`` and ``--cfe-supply``."""
    factors = _tables(directory)
    for source in _input_settings()["grid_series"]:
        if source == "bundled":
            from fleetcarbon.factors import bundled_grid_series

            series = bundled_grid_series()
        else:
            from fleetcarbon.io import read_grid_series

            series = read_grid_series(source, on_invalid=_on_invalid())
        factors = factors.with_grid_series(series)
    for source in _input_settings()["cfe_supply"]:
        factors = factors.with_cfe_supply(_read_long_frame(source))
    return factors


def _read_long_frame(path: str) -> pl.DataFrame:
    """Read a long-form CSV or Parquet file (compressed too); CSV times with an offset are UTC."""
    import io

    from fleetcarbon.io.compression import read_bytes

    data = read_bytes(path)
    if data[:4] == b"PAR1":
        return pl.read_parquet(io.BytesIO(data))
    return pl.read_csv(io.BytesIO(data), try_parse_dates=True)


def _tables(directory: str | None) -> Factors:
    """Bundled factors, with the rows of any ``<table>.csv`` in ``directory`` upserted."""
    from fleetcarbon import load_factors

    factors = load_factors()
    if directory is None:
        return factors
    frames = {
        name: pl.read_csv(Path(directory) / f"{name}.csv")
        for name in TABLE_FILES
        if (Path(directory) / f"{name}.csv").exists()
    }
    if not frames:
        raise click.UsageError(f"--factors {directory}: no {', '.join(TABLE_FILES)} CSV files")
    return factors.with_rows(**frames)


@contextlib.contextmanager
def _progress(ctx: click.Context, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """Show a progress bar on stderr (none under --quiet), fed by the core's own counts.

    Yields the ``progress(done, total)`` callback to pass to the API (None under
    --quiet). The work is never split to report progress: the core reports
    between its own blocks of work.
    """
    if ctx.obj.get("quiet"):
        yield None
        return
    bar = _ProgressBar(label)
    try:
        yield bar.report
    finally:
        bar.close()


class _ProgressBar:
    """A click progress bar opened at the first report (when the total is known)."""

    def __init__(self, label: str):
        self.label = label
        self.bar: Any = None
        self.done = 0

    def report(self, done: int, total: int) -> None:
        if self.bar is None:
            if total <= 0:
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        if total != self.bar.length:
            self.bar.length = total
        self.bar.update(max(done - self.done, 0))
        self.done = max(done, self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _input_files(input_path: str, cluster: str | None, factors: str | None) -> list[Path]:
    """List the files a command reads: INPUT (globs expanded), --cluster, --factors and more."""
    files = [Path(input_path)]
    for source in _input_settings()["grid_series"]:
        if source != "bundled":
            files += [Path(source), *(Path(p) for p in glob.glob(source, recursive=True))]
    files += [Path(source) for source in _input_settings()["cfe_supply"]]
    if glob.has_magic(input_path):
        files += [Path(p) for p in glob.glob(input_path, recursive=True)]
    if cluster is not None:
        files.append(Path(cluster))
    if factors is not None:
        files += [p for p in Path(factors).iterdir() if p.is_file()]
    return files


def _same_file(a: Path, b: Path) -> bool:
    """Tell whether two paths name one file: same path once resolved, or same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def _refuse_inputs(output: str, targets: Sequence[Path], inputs: Sequence[Path]) -> None:
    """Raise if writing ``targets`` (for ``-o output``) would replace an input file."""
    for target in targets:
        for source in inputs:
            if _same_file(target, source):
                raise ParameterError(
                    f"-o {output} would replace the input file {source}; write elsewhere"
                )


def _check_output(output: str, inputs: Sequence[Path], overwrite: bool) -> None:
    """Check ``-o output`` before any work: format, folder, inputs, existing file."""
    from fleetcarbon.outputs import FRAME_SUFFIXES

    path = Path(output)
    if path.suffix.lower() not in FRAME_SUFFIXES:
        raise click.UsageError(f"-o {output}: write .parquet or .csv")
    if path.is_dir():
        raise IsADirectoryError(f"-o {output} is a folder")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"-o {output}: folder {path.parent} does not exist")
    _refuse_inputs(output, [path], inputs)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"-o {output} already exists; pass --overwrite to replace it")


def _write(frame: pl.DataFrame, output: str, overwrite: bool) -> None:
    from fleetcarbon.outputs import write_frame

    write_frame(frame, output, overwrite=overwrite)


def _by(by: str | None) -> list[str]:
    return [c.strip() for c in by.split(",") if c.strip()] if by else []


#: The summary columns the estimate command prints (the rest are in summarize()'s output).
HEADLINE_COLUMNS = (
    "jobs",
    "accelerator_hours",
    "core_hours",
    "it_energy_kwh",
    "operational_kgco2e",
    "embodied_kgco2e",
    "total_kgco2e",
    "embodied_share",
    "failed_kgco2e",
    "cfe_score",
)


def _headline(summary: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Select the group keys and headline totals of a summary, to fit a terminal."""
    return summary.select([*by, *[c for c in HEADLINE_COLUMNS if c in summary.columns]])


def _print_table(frame: pl.DataFrame) -> None:
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        click.echo(frame)


INPUT_FORMAT = click.Choice(["sacct", "swf", "pbs", "codecarbon", "csv", "parquet"])


def input_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the options saying where jobs come from: INPUT, format, cluster, fields, map, factors.

    ``--on-invalid`` and ``--map`` reach no parameter of the command: they are
    kept in the context, for :func:`_read_input` and :func:`_on_invalid`.
    """
    decorators = [
        click.argument("input_path", metavar="INPUT"),
        click.option(
            "--format",
            "fmt",
            type=INPUT_FORMAT,
            help="Input format (default: by extension, under .gz/.zst/.bz2/.xz, else content).",
        ),
        click.option(
            "--cluster",
            type=click.Path(exists=True),
            help="Cluster config (TOML), for sacct, swf and pbs.",
        ),
        click.option("--fields", help="sacct field list, for output written with --noheader."),
        click.option(
            "--map",
            "mapping",
            multiple=True,
            metavar="COLUMN=SOURCE",
            expose_value=False,
            callback=_store_mapping,
            help="csv/parquet: read canonical COLUMN from SOURCE column (repeatable).",
        ),
        click.option(
            "--on-invalid",
            "on_invalid",
            type=click.Choice(["raise", "drop"]),
            default="raise",
            show_default=True,
            expose_value=False,
            callback=_store_setting,
            help="Malformed input rows and invalid jobs: fail, or drop them with a warning.",
        ),
        click.option(
            "--factors", type=click.Path(exists=True, file_okay=False), help="Factor CSV dir."
        ),
        click.option(
            "--grid-series",
            "grid_series",
            multiple=True,
            metavar="PATH",
            expose_value=False,
            callback=_store_setting,
            help="Hourly grid intensity (a file read_grid_series reads, or 'bundled'); repeatable.",
        ),
        click.option(
            "--cfe-supply",
            "cfe_supply",
            multiple=True,
            metavar="PATH",
            expose_value=False,
            callback=_store_setting,
            help="Contracted carbon-free energy for hourly matching (long CSV or Parquet: "
            "datacenter or region, start, [end], cfe_kwh); repeatable.",
        ),
        click.option(
            "--grid-year",
            "grid_year",
            type=click.Choice(["job", "latest"]),
            default="job",
            show_default=True,
            expose_value=False,
            callback=_store_setting,
            help="Annual grid value of each job's start year, or the latest for every job.",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


BY = click.option("--by", help="Comma-separated grouping columns.")
SEED = click.option("--seed", type=int, help="Seed (default: random, and reported).")
OVERWRITE = click.option(
    "--overwrite", is_flag=True, help="Replace the output if it exists (never an input)."
)


@cli.command()
@input_options
@click.option("--by", help="Comma-separated columns for the printed summary.")
@click.option("-o", "--output", help="Write per-job estimates (.parquet or .csv).")
@OVERWRITE
@click.pass_context
def estimate(
    ctx: click.Context,
    input_path: str,
    fmt: str | None,
    cluster: str | None,
    fields: str | None,
    factors: str | None,
    by: str | None,
    output: str | None,
    overwrite: bool,
) -> None:
    """Estimate energy and lifecycle carbon of every job in INPUT.

    \b
    Examples:
      fleetcarbon estimate sacct.txt --cluster cluster.toml -o jobs.parquet
      fleetcarbon estimate noheader.txt --fields JobID,Start,End,ElapsedRaw,NCPUS,AllocTRES
      fleetcarbon estimate RICC-2010-2.swf.gz --cluster ricc.toml --by queue
      fleetcarbon estimate accounting/20250301 --format pbs --cluster cluster.toml
      fleetcarbon estimate emissions.csv --format codecarbon
      fleetcarbon estimate logs.csv.gz --map job_id=JobID --map region=site --on-invalid drop
      fleetcarbon estimate jobs.parquet --by team
      fleetcarbon estimate jobs.csv --factors my-factors/ -o out.csv --overwrite
      fleetcarbon estimate jobs.parquet --grid-series bundled --grid-series DE_2023_hourly.csv
      fleetcarbon estimate jobs.parquet --cfe-supply ppa_hourly.csv --by region
      fleetcarbon estimate jobs.parquet --grid-year latest
    """
    from fleetcarbon import estimate as run_estimate
    from fleetcarbon import summarize

    if output:
        _check_output(output, _input_files(input_path, cluster, factors), overwrite)
    t0 = time.perf_counter()
    jobs = _read_input(input_path, fmt, cluster, fields)
    with _progress(ctx, "estimating") as progress:
        est = run_estimate(jobs, _factors(factors), progress=progress, **_model_options())
    _say(ctx, f"estimated {est.height:,} jobs in {time.perf_counter() - t0:.2f} s")
    if output:
        _write(est, output, overwrite)
        _say(ctx, f"wrote {output}")
    _print_table(_headline(summarize(est, by=_by(by)), _by(by)))


@cli.command()
@input_options
@click.option("--draws", default=10_000, show_default=True, help="Monte Carlo draws.")
@BY
@SEED
@click.option("-o", "--output", help="Write the summary (.parquet or .csv).")
@OVERWRITE
@click.pass_context
def simulate(
    ctx: click.Context,
    input_path: str,
    fmt: str | None,
    cluster: str | None,
    fields: str | None,
    factors: str | None,
    draws: int,
    by: str | None,
    seed: int | None,
    output: str | None,
    overwrite: bool,
) -> None:
    """Monte Carlo uncertainty of the totals of INPUT, per group.

    \b
    Examples:
      fleetcarbon simulate jobs.parquet --draws 2000 --by team,phase -o summary.parquet
      fleetcarbon simulate sacct.txt --cluster cluster.toml --seed 7
    """
    from fleetcarbon import simulate as run_simulate

    if output:
        _check_output(output, _input_files(input_path, cluster, factors), overwrite)
    t0 = time.perf_counter()
    jobs = _read_input(input_path, fmt, cluster, fields)
    with _progress(ctx, "simulating") as progress:
        summary = run_simulate(
            jobs,
            _factors(factors),
            draws=draws,
            by=_by(by),
            seed=seed,
            progress=progress,
            **_model_options(),
        )
    _say(ctx, f"{draws:,} draws in {time.perf_counter() - t0:.2f} s, seed {summary['seed'][0]}")
    if output:
        _write(summary, output, overwrite)
        _say(ctx, f"wrote {output}")
    keys = _by(by)
    shown = [
        *keys,
        "jobs",
        "total_kgco2e",
        "total_kgco2e_mean",
        *[c for c in summary.columns if c.startswith("total_kgco2e_p")],
    ]
    _print_table(summary.select(shown))


def _valid_jobs(jobs: pl.DataFrame | pl.LazyFrame, chosen: Factors) -> pl.DataFrame:
    """Return the jobs, less the invalid ones under ``--on-invalid drop``."""
    from fleetcarbon import estimate as run_estimate
    from fleetcarbon.frames import collect_jobs

    frame = collect_jobs(jobs)
    if _on_invalid() == "drop":
        kept = run_estimate(frame, chosen, **_model_options()).select("job_id")
        frame = frame.join(kept, on="job_id", how="semi", maintain_order="left")
    return frame


@cli.command()
@input_options
@click.option(
    "--scenarios",
    "scenarios_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Scenarios TOML file ([[scenario]] tables; docs/scenarios.md).",
)
@click.option("--draws", default=1_000, show_default=True, help="Monte Carlo draws.")
@BY
@SEED
@click.option("-o", "--output", help="Write the sweep (.parquet or .csv).")
@OVERWRITE
@click.pass_context
def sweep(
    ctx: click.Context,
    input_path: str,
    fmt: str | None,
    cluster: str | None,
    fields: str | None,
    factors: str | None,
    scenarios_path: str,
    draws: int,
    by: str | None,
    seed: int | None,
    output: str | None,
    overwrite: bool,
) -> None:
    """Run the scenarios of a TOML file against a baseline, with common random numbers.

    \b
    Examples:
      fleetcarbon sweep jobs.parquet --scenarios scenarios.toml --draws 1000 -o sweep.parquet
      fleetcarbon sweep sacct.txt --cluster cluster.toml --scenarios what-if.toml --by partition
    """
    from fleetcarbon import sweep as run_sweep
    from fleetcarbon.scenario_files import read_scenarios

    inputs = [*_input_files(input_path, cluster, factors), Path(scenarios_path)]
    if output:
        _check_output(output, inputs, overwrite)
    plan = read_scenarios(scenarios_path)
    t0 = time.perf_counter()
    chosen = _factors(factors)
    jobs = _valid_jobs(_read_input(input_path, fmt, cluster, fields), chosen)
    out = run_sweep(
        jobs,
        plan.scenarios,
        chosen,
        draws=draws,
        by=_by(by),
        seed=seed,
        grid_year=_input_settings()["grid_year"],
        baseline=plan.baseline or "baseline",
    )
    _say(
        ctx,
        f"{len(plan.scenarios):,} scenarios x {draws:,} draws in "
        f"{time.perf_counter() - t0:.2f} s, seed {out['seed'][0]}",
    )
    if output:
        _write(out, output, overwrite)
        _say(ctx, f"wrote {output}")
    shown = ["scenario", *_by(by), "total_kgco2e", "total_kgco2e_diff"]
    shown += [c for c in out.columns if c.startswith("total_kgco2e_diff_p")]
    _print_table(out.select(*shown, "total_kgco2e_p_lower"))


@cli.command()
@input_options
@click.option("--draws", default=1_024, show_default=True, help="Base samples N.")
@BY
@click.option(
    "--groups",
    type=click.Choice(["row", "factor"]),
    default="row",
    show_default=True,
    help="One input per factor row, or per factor.",
)
@SEED
@click.option("-o", "--output", help="Write the indices (.parquet or .csv).")
@OVERWRITE
@click.pass_context
def sensitivity(
    ctx: click.Context,
    input_path: str,
    fmt: str | None,
    cluster: str | None,
    fields: str | None,
    factors: str | None,
    draws: int,
    by: str | None,
    groups: str,
    seed: int | None,
    output: str | None,
    overwrite: bool,
) -> None:
    """Sobol indices and a tornado of the uncertain factor rows of INPUT.

    \b
    Examples:
      fleetcarbon sensitivity jobs.parquet --by team
      fleetcarbon sensitivity jobs.parquet --groups factor --draws 2048 -o indices.csv
    """
    from fleetcarbon import sensitivity as run_sensitivity

    if output:
        _check_output(output, _input_files(input_path, cluster, factors), overwrite)
    t0 = time.perf_counter()
    chosen = _factors(factors)
    jobs = _valid_jobs(_read_input(input_path, fmt, cluster, fields), chosen)
    out = run_sensitivity(
        jobs,
        chosen,
        by=_by(by),
        draws=draws,
        groups=groups,  # type: ignore[arg-type]
        seed=seed,
        grid_year=_input_settings()["grid_year"],
    )
    _say(ctx, f"{out['input'].n_unique():,} inputs in {time.perf_counter() - t0:.2f} s")
    if output:
        _write(out, output, overwrite)
        _say(ctx, f"wrote {output}")
    shown = [*_by(by), "input", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "swing"]
    _print_table(out.select(shown))


@cli.command()
@input_options
@BY
@click.option("--draws", default=2_000, show_default=True, help="Monte Carlo draws (0: none).")
@click.option("--seed", type=int, help="Seed of the Monte Carlo (default: random, reported).")
@click.option(
    "--scenarios",
    "scenarios_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Scenarios TOML file: adds a 'What if' section.",
)
@click.option("--html", is_flag=True, help="Write report.html instead of report.md.")
@click.option("--no-figures", is_flag=True, help="Write the text and tables only (no matplotlib).")
@click.option(
    "-o", "--output", required=True, help="Folder for the report, tables and figures (new)."
)
@click.option(
    "--overwrite", is_flag=True, help="Replace a previous report in the folder (its files only)."
)
@click.pass_context
def report(
    ctx: click.Context,
    input_path: str,
    fmt: str | None,
    cluster: str | None,
    fields: str | None,
    factors: str | None,
    by: str | None,
    draws: int,
    seed: int | None,
    scenarios_path: str | None,
    html: bool,
    no_figures: bool,
    output: str,
    overwrite: bool,
) -> None:
    """Write a report (Markdown or HTML) with tables and figures for INPUT.

    The folder must be new, empty, or hold a previous report, which only
    --overwrite replaces (removing the files that report wrote, and no others).

    \b
    Examples:
      fleetcarbon report sacct.txt --cluster cluster.toml --by partition -o report/
      fleetcarbon report jobs.parquet --by team --draws 5000 --html -o report/ --overwrite
      fleetcarbon report jobs.parquet --no-figures -o tables/
      fleetcarbon report jobs.parquet --scenarios what-if.toml -o report/
    """
    from fleetcarbon import estimate as run_estimate
    from fleetcarbon import simulate_detailed
    from fleetcarbon.report import check_folder, require_matplotlib, write_report

    if not no_figures:
        require_matplotlib(hint="--no-figures")
    plan = check_folder(output, overwrite=overwrite, flag="--overwrite")
    inputs = _input_files(input_path, cluster, factors)
    if scenarios_path:
        inputs.append(Path(scenarios_path))
    _refuse_inputs(output, plan.removed, inputs)
    jobs = _read_input(input_path, fmt, cluster, fields)
    chosen = _factors(factors)
    with _progress(ctx, "estimating") as progress:
        est = run_estimate(jobs, chosen, progress=progress, **_model_options())
    simulation = draw_frame = None
    if draws > 0:
        with _progress(ctx, "simulating") as progress:
            result = simulate_detailed(
                jobs,
                chosen,
                draws=draws,
                by=_by(by),
                seed=seed,
                return_draws=True,
                progress=progress,
                **_model_options(),
            )
        simulation, draw_frame = result.summary, result.draws
    swept = None
    if scenarios_path:
        from fleetcarbon import sweep as run_sweep
        from fleetcarbon.scenario_files import read_scenarios

        what_if = read_scenarios(scenarios_path)
        swept = run_sweep(
            _valid_jobs(jobs, chosen),
            what_if.scenarios,
            chosen,
            draws=draws if draws >= 2 else 1_000,  # the report's --draws, else the default
            by=_by(by),
            seed=seed,
            grid_year=_input_settings()["grid_year"],
            baseline=what_if.baseline or "baseline",
        )
    path = write_report(
        est,
        output,
        by=_by(by) or None,
        simulation=simulation,
        draws=draw_frame,
        sweep=swept,
        grid_series=None if chosen.grid_series is None else chosen.grid_series.frame,
        format="html" if html else "markdown",
        figures=not no_figures,
        overwrite=overwrite,
    )
    _say(ctx, f"wrote {path}")


@cli.command()
@click.option("--jobs", default=1_000_000, show_default=True, help="Number of synthetic jobs.")
@click.option("--seed", default=0, show_default=True, help="Fleet seed.")
@click.option("--threads", type=click.IntRange(min=1), help="Threads for the Rust core.")
def demo(jobs: int, seed: int, threads: int | None) -> None:
    """Estimate a seeded synthetic fleet and print a summary per team and phase.

    \b
    Examples:
      fleetcarbon demo
      fleetcarbon demo --jobs 10000 --seed 7
    """
    from fleetcarbon import estimate, load_factors, summarize, synthetic_fleet

    t0 = time.perf_counter()
    factors = load_factors()
    fleet = synthetic_fleet(jobs, seed=seed)
    t1 = time.perf_counter()
    est = estimate(fleet, factors, threads=threads)
    t2 = time.perf_counter()
    table = summarize(est, by=["team", "phase"], threads=threads)
    t3 = time.perf_counter()
    tonnes = ["operational_kgco2e", "operational_market_kgco2e", "embodied_kgco2e", "total_kgco2e"]
    shown = table.select(
        "team",
        "phase",
        "jobs",
        (pl.col("accelerator_hours") / 1e3).round(1).alias("accel_kh"),
        (pl.col("facility_energy_kwh") / 1e3).round(1).alias("energy_mwh"),
        *[(pl.col(c) / 1e3).round(2).alias(c.replace("_kgco2e", "_tco2e")) for c in tonnes],
        (pl.col("embodied_share") * 100).round(1).alias("embodied_pct"),
    )
    fleet_total = summarize(est).row(0, named=True)
    click.echo(
        f"fleetcarbon demo: {jobs:,} synthetic jobs (seed {seed}), factors {factors.version}"
    )
    _print_table(shown)
    click.echo(
        f"fleet total: {fleet_total['total_kgco2e'] / 1e3:,.1f} tCO2e "
        f"(operational {fleet_total['operational_kgco2e'] / 1e3:,.1f}, "
        f"market-based {fleet_total['operational_market_kgco2e'] / 1e3:,.1f}, "
        f"embodied {fleet_total['embodied_kgco2e'] / 1e3:,.1f}; "
        f"{(fleet_total['embodied_share'] or 0.0) * 100:.1f}% embodied)"
    )
    click.echo(
        f"timing: generate {t1 - t0:.2f} s, estimate {t2 - t1:.3f} s, summarize {t3 - t2:.3f} s"
    )


@cli.group()
def factors() -> None:
    """Inspect or export the bundled factor tables.

    \b
    Examples:
      fleetcarbon factors list accelerators
      fleetcarbon factors show aws:us-east-1
      fleetcarbon factors export my-factors/
    """


@factors.command("list")
@click.argument("table", required=False, type=click.Choice(TABLE_FILES))
def factors_list(table: str | None) -> None:
    """List the tables with their row counts, or the keys of TABLE."""
    from fleetcarbon import load_factors

    f = load_factors()
    if table is None:
        click.echo(f"factors {f.version}")
        for name in TABLE_FILES:
            click.echo(f"  {name:<12} {f.table(name).height:>4} rows")
        return
    key = "parameter" if table == "defaults" else "key"
    for value in f.table(table)[key].to_list():
        click.echo(value)


@factors.command("show")
@click.argument("key")
def factors_show(key: str) -> None:
    """Show every table row whose key (or alias) is KEY."""
    from fleetcarbon import load_factors

    f = load_factors()
    found = False
    aliases = f.aliases.filter(pl.col("alias").str.to_lowercase() == key.lower())
    for name in TABLE_FILES:
        column = "parameter" if name == "defaults" else "key"
        targets = {key} | set(aliases.filter(pl.col("table") == name)["key"].to_list())
        rows = f.table(name).filter(pl.col(column).is_in(list(targets)))
        for row in rows.iter_rows(named=True):
            found = True
            click.echo(f"[{name}]")
            for k, v in row.items():
                if v is not None:
                    click.echo(f"  {k}: {v}")
    if not found:
        raise click.ClickException(f"no factor row or alias named {key!r}")


@factors.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace tables already in DIRECTORY.")
def factors_export(directory: str, overwrite: bool) -> None:
    """Write every table as CSV into DIRECTORY (edit them, then pass --factors)."""
    from fleetcarbon import load_factors
    from fleetcarbon.outputs import atomic_folder, write_frame, write_text

    f = load_factors()
    out = Path(directory)
    tables = (*TABLE_FILES, "aliases", "sources")
    names = [*(f"{name}.csv" for name in tables), "VERSION"]
    existing = [n for n in names if os.path.lexists(out / n)]
    if existing and not overwrite:
        raise FileExistsError(
            f"{out / existing[0]} already exists; pass --overwrite to replace the exported tables"
        )
    # All files or none: written beside DIRECTORY, then moved in together.
    with atomic_folder(out, replace=lambda: names if overwrite else ()) as stage:
        for name in tables:
            write_frame(f.table(name), stage / f"{name}.csv")
        write_text(stage / "VERSION", f.version + "\n")
    click.echo(f"wrote {len(TABLE_FILES) + 2} tables to {out}")


def _interrupted() -> int:
    click.echo("fleetcarbon: interrupted", err=True)
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (130 after Ctrl-C, which leaves no partial output)."""
    try:
        # Outside standalone mode, click returns the code of `ctx.exit(code)`.
        code = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except (_Interrupted, KeyboardInterrupt):
        return _interrupted()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # Ctrl-C while click parsed arguments
            return _interrupted()
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
