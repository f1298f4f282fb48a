"""The README's Python examples run as written (the server example against the test server)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from tests.support.server import Server

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, server: Server, tmp_path: Path) -> None:
    if "http://127.0.0.1:4566" in code:  # the server example: the test server, in an account of its own
        code = code.replace("http://127.0.0.1:4566", server.url).replace("123456789012", "100000000099")
    printed = io.StringIO()
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(README), "exec"), {})
    finally:
        os.chdir(cwd)
    assert printed.getvalue() or "print(" not in code
