"""ssmc.Model on the repository's tiny checkpoints, against the logits
that Hugging Face transformers computed for them (test/Models/README.md)."""

import json
import os

import numpy as np
import pytest

import ssmc
from conftest import MODELS, read_safetensors

NAMES = ["mamba1-n16", "mamba2-n64"]


def within_tolerance(actual, expected):
    # test/Models/ModelTest.cpp's bound: 1e-5 of max(1, max |logit|).
    scale = max(1.0, float(np.abs(expected).max()))
    return float(np.abs(actual - expected).max()) <= 1e-5 * scale


@pytest.mark.parametrize("name", NAMES)
def test_prefill_and_decode_match_transformers(name):
    folder = MODELS / name
    reference = json.loads((folder / "reference.json").read_text())
    logits = read_safetensors(folder / "reference.safetensors")
    model = ssmc.Model.load(folder)
    prompt = np.array(reference["prompt_ids"], np.int64)
    assert within_tolerance(model.prefill(prompt), logits["prefill_logits"][-1])
    for step, token in enumerate(reference["decode_ids"]):
        got = model.decode(token)
        assert got.shape == (model.vocab,)
        assert within_tolerance(got, logits["decode_logits"][step])


def test_batches_agree_with_single_sequences():
    model = ssmc.Model.load(MODELS / "mamba1-n16")
    ids = np.array([[5, 9, 200, 3], [17, 1, 1, 250]], np.int64)
    batch = model.prefill(ids)
    for row in range(2):
        np.testing.assert_allclose(model.prefill(ids[row]), batch[row],
                                   rtol=0, atol=1e-5)


def test_packed_weights_stay_close_and_are_cached_apart():
    # --weight-type reaches the compiler; each type is its own cache entry
    # and its own (smaller) weights. test/Models checks the packed products
    # exactly; here the q8_0 logits stay within the bound ModelTest.cpp
    # states for q8_0 (6e-2 of the largest logit).
    folder = MODELS / "mamba1-n16"
    f32 = ssmc.Model.load(folder, flags=["--weight-type=f32"])
    q8 = ssmc.Model.load(folder, flags=["--weight-type=q8_0"])
    prompt = np.array([5, 9, 200, 3, 17, 1], np.int64)
    expected, got = f32.prefill(prompt), q8.prefill(prompt)
    assert not np.array_equal(got, expected)
    assert np.abs(got - expected).max() <= 6e-2 * np.abs(expected).max()
    with pytest.raises(ValueError, match="weight-type"):
        ssmc.Model.load(folder, flags=["--weight-type=q5_k"])


def test_compiled_once_into_the_cache():
    folder = MODELS / "mamba1-n16"
    ssmc.Model.load(folder)
    cache = os.environ["SSM_CACHE_DIR"]
    entries = os.listdir(cache)
    stamps = {e: os.stat(os.path.join(cache, e)).st_mtime_ns for e in entries}
    ssmc.Model.load(folder)
    assert os.listdir(cache) == entries
    assert {e: os.stat(os.path.join(cache, e)).st_mtime_ns
            for e in entries} == stamps


def test_another_compiler_compiles_again(monkeypatch):
    # The key covers the compiler library itself, not only ssmc_version()
    # (the same across rebuilds): a rebuilt ssmc must not reuse what the
    # old one compiled.
    folder = MODELS / "mamba1-n16"
    ssmc.Model.load(folder)
    cache = os.environ["SSM_CACHE_DIR"]
    before = set(os.listdir(cache))
    stamp = ssmc._native.compiler_stamp()
    monkeypatch.setattr(ssmc._native, "compiler_stamp",
                        lambda: stamp + b" rebuilt")
    ssmc.Model.load(folder)
    assert len(set(os.listdir(cache)) - before) == 1


def test_bad_ids_and_order_are_refused():
    model = ssmc.Model.load(MODELS / "mamba1-n16")
    with pytest.raises(RuntimeError, match="prefill first"):
        model.decode(1)
    with pytest.raises(ValueError, match="token id 256 .* outside the "
                       r"vocabulary \[0, 256\)"):
        model.prefill([1, 256])
    with pytest.raises(ValueError, match="length >= 1"):
        model.prefill(np.zeros((1, 0), np.int64))
    model.prefill([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="decode got 1 ids for a batch of 2"):
        model.decode([7])


def test_generate_text_through_the_checkpoints_tokenizer(folder_with_tokenizer):
    model = ssmc.Model.load(folder_with_tokenizer)
    text = model.generate("w71 w57 w1 w187", max_new_tokens=6,
                          stop_at_eos=False)
    ids = model.generate([71, 57, 1, 187], max_new_tokens=6, stop_at_eos=False)
    assert len(ids) == 6
    assert text == " ".join(f"w{i}" for i in ids)
    # Greedy: each token is the argmax of a fresh prefill over everything
    # before it (no decode step involved).
    sequence = [71, 57, 1, 187]
    for token in ids:
        assert token == int(np.argmax(model.prefill(sequence)))
        sequence.append(token)


def test_generate_needs_a_tokenizer_for_text():
    model = ssmc.Model.load(MODELS / "mamba1-n16")
    with pytest.raises(ValueError, match="needs a tokenizer"):
        model.generate("hello")


def test_bad_activation_precision_is_refused(monkeypatch):
    # A bad SSM_Q8_0_A would abort the process at the first packed product
    # (generated code has no error path): Model refuses it up front.
    monkeypatch.setenv("SSM_Q8_0_A", "int4")
    with pytest.raises(ValueError, match='SSM_Q8_0_A is "int4"; set it to '
                                         r'int8 \(the default\) or f32'):
        ssmc.Model.load(MODELS / "mamba1-n16",
                        flags=["--weight-type=q8_0"])
