"""`civicport serve` as a real process: import a dataset, start the server, query it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(process: subprocess.Popen, url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"civicport serve exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"civicport serve did not answer at {url} within {seconds}s")


@pytest.mark.slow
def test_serve_answers_soda_queries(cli, cli_env, tmp_path):
    path = tmp_path / "trees.csv"
    path.write_text("species,height\nOak,12\nElm,9\n", encoding="utf-8")
    result = cli("import", path, "--title", "Trees", "--id", "tree-0001", "--audience", "public")
    assert result.exit_code == 0, result.output

    port = free_port()
    env = {k: v for k, v in (os.environ | cli_env).items() if v is not None}
    command = [sys.executable, "-m", "civicport", "serve", "--host", "127.0.0.1", "--port", port]
    process = subprocess.Popen(
        [str(c) for c in command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base + "/resource/tree-0001.json")
        response = httpx.get(base + "/resource/tree-0001.json", params={"$order": "height"})
        # A NUL in a row id is quoted in the error message header: the server must still answer.
        missing = httpx.get(base + "/resource/tree-0001/row-%00.json")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)

    assert response.status_code == 200, output
    assert missing.status_code == 404, output
    assert missing.json()["code"] == "soda.row.not-found"
    assert missing.headers["x-error-message"] == "Row 'row-?' not found"
    assert response.json() == [
        {"species": "Elm", "height": "9"},
        {"species": "Oak", "height": "12"},
    ]
