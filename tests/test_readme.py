"""The README's quickstart runs as written."""

from __future__ import annotations

import re
import warnings

import pytest
from conftest import REPO


def test_readme_python_examples_run(capsys):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2, "README has the quickstart and the uncertainty example"
    namespace: dict = {}
    for block in blocks:  # later blocks may use names from earlier ones, as a reader would
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "total_kgco2e" in out
    assert "total_kgco2e_p95" in out


def test_readme_has_exactly_two_shell_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = commands[1].strip()
    if test_command not in ci:
        pytest.fail(f".ci/run does not run the README test command: {test_command}")


def test_readme_cluster_configs_load_and_type_gpus(tmp_path):
    from fleetcarbon.io import load_cluster_config, read_sacct

    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert blocks, "README shows a cluster config"
    for i, block in enumerate(blocks):
        path = tmp_path / f"cluster{i}.toml"
        path.write_text(block, encoding="utf-8")
        config = load_cluster_config(path)
        jobs = read_sacct(
            "JobID|Elapsed|Partition|NodeList|AllocTRES\n"
            "1|01:00|cpu|dgx01|cpu=8,gres/gpu=1\n"
            "2|01:00|cpu|cn01|cpu=8,gres/gpu:a100=1\n",
            cluster=config,
        )
        assert jobs["accelerator"].to_list() == ["nvidia-h100-sxm5-80gb", "nvidia-a100-sxm4-80gb"]


@pytest.mark.parametrize("page", ["scenarios.md", "grid_series.md", "scale.md"])
def test_doc_page_examples_run(page, tmp_path, monkeypatch):
    # The examples that need no file of the reader's own run as written.
    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    runnable = [b for b in blocks if "read_grid_series(" not in b]
    assert runnable, f"{page} has runnable examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in runnable:
            exec(compile(block, page, "exec"), namespace)
