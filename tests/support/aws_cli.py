"""The README's shell examples, run as written with the unchanged `aws` CLI against a test server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.server import Server


def run_script(server: Server, script: str, directory: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`bash -e` on `script` in `directory`, with the variables the README's *First run* exports (this server as
    the endpoint, a 12-digit access key) and no AWS configuration of the machine's."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "123456789012",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    path = directory / "script.sh"
    path.write_text(script)
    command = ["bash", "-e", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=directory, check=False)
