"""The formatter decides layout: no Python file of the repository opts out of it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIRECTIVE = re.compile(r"#\s*fmt:\s*(skip|off|on)\b")


def test_no_file_opts_out_of_the_formatter() -> None:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    found = [
        f"{name}:{number}"
        for name in files.stdout.split()
        if (ROOT / name).is_file()
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if DIRECTIVE.search(line) and "DIRECTIVE" not in line
    ]
    assert found == []
