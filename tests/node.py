"""Run a JavaScript snippet with the official clients of tests/js (installed by
``make test``) and read what it prints as JSON."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"


def node_run(script: str, *, env: dict[str, str] | None = None, timeout: int = 60):
    """Run ``script`` (an ES module) in tests/js and return its last line of
    output parsed as JSON; fail the test with node's output if it fails."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules").is_dir():
        pytest.fail("Node.js clients are not installed: run `make test`.")
    completed = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=JS_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        pytest.fail(f"node failed:\n{completed.stdout}\n{completed.stderr}")
    lines = completed.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None
