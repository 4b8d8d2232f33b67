"""The README's quickstart runs as written."""

from __future__ import annotations

import re

import pytest
from conftest import REPO


def test_readme_quickstart_runs(capsys):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has a python quickstart"
    exec(compile(blocks[0], "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "total_kgco2e" in out


def test_readme_has_exactly_two_shell_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    test_command = commands[1].strip()
    if test_command not in ci:
        pytest.fail(f".ci/run does not run the README test command: {test_command}")
