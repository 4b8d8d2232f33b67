"""The README's quickstart runs as written."""

from __future__ import annotations

import re

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
