"""A real `trailbridge serve` process on a free loopback port, and boto3 clients for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import urllib3
from botocore.config import Config

FAST_ENV = {
    "TRAILBRIDGE_RETRY_BASE_SECONDS": "0.01",
    "TRAILBRIDGE_RETRY_MAX_SECONDS": "0.05",
    "TRAILBRIDGE_HTTP_TIMEOUT_SECONDS": "1",
    "TRAILBRIDGE_SHUTDOWN_GRACE_SECONDS": "2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        ca_file: Path | None = None,
        port: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        """`ca_file`: the server speaks HTTPS with a certificate this CA file vouches for; `cwd`: where it runs."""
        self._dir = tempfile.TemporaryDirectory()
        self.data = Path(self._dir.name) / "data"
        self.port = port or free_port()
        self.ca_file = ca_file
        self.url = f"{'https' if ca_file else 'http'}://127.0.0.1:{self.port}"
        self.log = Path(self._dir.name) / "server.log"
        command = [sys.executable, "-m", "trailbridge", "serve", "--port", str(self.port), "--data", str(self.data)]
        environment = {**os.environ, **FAST_ENV, **(env or {})}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, *args], stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=cwd
            )
        self.http = urllib3.PoolManager(ca_certs=str(ca_file)) if ca_file else urllib3.PoolManager()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trailbridge serve exited: {self.log.read_text()}")
            try:
                if self.http.request("GET", self.url + "/health", retries=False).status == 200:
                    return
            except urllib3.exceptions.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"trailbridge serve did not start: {self.log.read_text()}")

    def client(self, service: str, account: str = "123456789012", region: str = "us-east-1", **config: Any) -> Any:
        """A boto3 client; a 12-digit access key is the caller's account."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account,
            aws_secret_access_key="secret",
            config=Config(retries={"max_attempts": 1}, **config),
            verify=str(self.ca_file) if self.ca_file else None,
        )

    def post(self, target: str | None, body: bytes, headers: dict[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        sent = {"Content-Type": "application/x-amz-json-1.1", **(headers or {})}
        if target is not None:
            sent["X-Amz-Target"] = target
        return self.http.request("POST", self.url + "/", body=body, headers=sent, retries=False)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._dir_cleanup()
        return self.process.returncode

    def _dir_cleanup(self) -> None:
        self.output = self.log.read_text(errors="replace") if self.log.exists() else ""
        self._dir.cleanup()
