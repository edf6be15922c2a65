"""docs/walkthrough.md, run as written: each `sh` and `python` block in
order from the repository root with HOME an empty folder; each `text`
block must appear in the output of the block before it."""

import os
import re
import subprocess
from pathlib import Path

from conftest import REPO

BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_walkthrough_runs_as_written(tmp_path):
    text = (REPO / "docs" / "walkthrough.md").read_text()
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    env.pop("SSM_CACHE_DIR", None)  # the walk-through's own ~/.cache/ssmc
    env.pop("SSMC_LIBRARY_DIR", None)
    output = None
    ran = 0
    for language, body in BLOCK.findall(text):
        if language == "text":
            assert output is not None, "a text block before any command"
            assert body.strip() in output, (
                f"expected\n{body}\nin the output\n{output}")
            continue
        if language == "sh":
            command = ["bash", "-euo", "pipefail", "-c", body]
        elif language == "python":
            command = [str(home / "venv" / "bin" / "python"), "-c", body]
        else:
            continue
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True,
                              text=True)
        assert done.returncode == 0, (
            f"{language} block failed:\n{body}\n{done.stdout}\n{done.stderr}")
        output = done.stdout
        ran += 1
    assert ran >= 8
