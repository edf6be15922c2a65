"""ssm-run --prompt: text in and out through the checkpoint's tokenizer.json
(tokenized by the tokenizers package of the Python that runs this)."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SSM_RUN = Path(os.environ.get("SSM_RUN", REPO / "build" / "bin" / "ssm-run"))


def run(*args, python=sys.executable):
    env = dict(os.environ, SSM_PYTHON=python)
    return subprocess.run([str(SSM_RUN), *map(str, args), "--quiet"],
                          capture_output=True, text=True, env=env)


def test_text_prompt_gives_the_text_of_the_ids(folder_with_tokenizer):
    ids = run(folder_with_tokenizer, "--prompt-ids", "71,57,1,187",
              "--max-new-tokens", "6")
    text = run(folder_with_tokenizer, "--prompt", "w71 w57 w1 w187",
               "--max-new-tokens", "6")
    assert ids.returncode == 0, ids.stderr
    assert text.returncode == 0, text.stderr
    expected = " ".join(f"w{i}" for i in ids.stdout.strip().split(","))
    assert text.stdout.strip() == expected


def test_text_prompt_errors(folder_with_tokenizer, tmp_path):
    missing = run(folder_with_tokenizer, "--prompt", "w1",
                  "--tokenizer", tmp_path / "none.json")
    assert missing.returncode == 1
    assert "cannot read the tokenizer" in missing.stderr
    both = run(folder_with_tokenizer, "--prompt", "w1", "--prompt-ids", "1")
    assert "exclude each other" in both.stderr
    no_python = run(folder_with_tokenizer, "--prompt", "w1",
                    python=tmp_path / "no-python")
    assert no_python.returncode == 1
    assert "the tokenizer (encode with" in no_python.stderr
