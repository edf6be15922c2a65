"""ssmc.compile and the calls it gives, against a NumPy reference."""

import numpy as np
import pytest

import ssmc
from reference import close, selective_scan

SCAN = """
func.func @scan(%u: tensor<?x?x?xf32>, %delta: tensor<?x?x?xf32>,
                %A: tensor<?x?xf32>, %B: tensor<?x?x?x?xf32>,
                %C: tensor<?x?x?x?xf32>, %D: tensor<?xf32>,
                %h0: tensor<?x?x?xf32>)
    -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>) {
  %y, %h = ssm.selective_scan %u, %delta, %A, %B, %C skip(%D) init(%h0)
      delta_softplus
      : (tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?xf32>,
         tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?xf32>,
         tensor<?x?x?xf32>) -> (tensor<?x?x?xf32>, tensor<?x?x?xf32>)
  return %y, %h : tensor<?x?x?xf32>, tensor<?x?x?xf32>
}
"""

SQUARES = """
#map = affine_map<(i, j) -> (i, j)>
func.func @squares(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#map, #map],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
"""


def scan_inputs(rng, batch=2, channels=6, states=4, length=9, groups=2):
    return dict(
        u=rng.standard_normal((batch, channels, length), np.float32),
        delta=rng.standard_normal((batch, channels, length), np.float32),
        A=-rng.random((channels, states), np.float32) - 0.1,
        B=rng.standard_normal((batch, groups, states, length), np.float32),
        C=rng.standard_normal((batch, groups, states, length), np.float32),
        D=rng.standard_normal(channels, np.float32),
        h0=rng.standard_normal((batch, channels, states), np.float32))


@pytest.fixture(scope="module")
def scan_module():
    return ssmc.compile(SCAN, name="scan.mlir")


def test_scan_matches_reference(scan_module):
    inputs = scan_inputs(np.random.default_rng(0))
    y, h = scan_module.scan(**inputs)
    y_ref, h_ref = selective_scan(delta_softplus=True, **inputs)
    assert y.shape == (2, 6, 9) and h.shape == (2, 6, 4)
    assert y.dtype == np.float32
    assert close(y, y_ref) and close(h, h_ref)


def test_positional_and_keyword_arguments_agree(scan_module):
    inputs = scan_inputs(np.random.default_rng(1))
    y1, _ = scan_module.scan(*inputs.values())
    y2, _ = scan_module["scan"](**inputs)
    np.testing.assert_array_equal(y1, y2)


def test_dlpack_objects_are_read_in_place(scan_module):
    """Any object with __dlpack__ (PyTorch, CuPy, JAX) is accepted."""

    class Tensor:
        def __init__(self, array):
            self.array = array

        def __dlpack__(self, stream=None):
            return self.array.__dlpack__()

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    inputs = scan_inputs(np.random.default_rng(2))
    y_numpy, _ = scan_module.scan(**inputs)
    y_dlpack, _ = scan_module.scan(**{k: Tensor(v) for k, v in inputs.items()})
    np.testing.assert_array_equal(y_numpy, y_dlpack)


def test_strided_inputs_are_read_densely(scan_module):
    inputs = scan_inputs(np.random.default_rng(3))
    y_dense, _ = scan_module.scan(**inputs)
    transposed = np.ascontiguousarray(inputs["u"].transpose(0, 2, 1))
    inputs["u"] = transposed.transpose(0, 2, 1)  # a non-contiguous view
    assert not inputs["u"].flags.c_contiguous
    y_view, _ = scan_module.scan(**inputs)
    np.testing.assert_array_equal(y_dense, y_view)


def test_inconsistent_sizes_raise_with_the_source_location(scan_module):
    inputs = scan_inputs(np.random.default_rng(4))
    inputs["delta"] = inputs["delta"][:, :, :-1].copy()
    with pytest.raises(ValueError, match=r"scan\.mlir:\d+:\d+: "
                       r"ssm\.selective_scan: operand 'delta' dimension 2"):
        scan_module.scan(**inputs)
    # The next good call succeeds.
    scan_module.scan(**scan_inputs(np.random.default_rng(4)))


def test_wrong_dtype_rank_and_names_are_refused(scan_module):
    inputs = scan_inputs(np.random.default_rng(5))
    with pytest.raises(TypeError, match="argument 'u' is float64"):
        scan_module.scan(**{**inputs, "u": inputs["u"].astype(np.float64)})
    with pytest.raises(ValueError, match="argument 'D' has 2 dimensions"):
        scan_module.scan(**{**inputs, "D": inputs["D"][None]})
    with pytest.raises(TypeError, match="no argument 'x'"):
        scan_module.scan(x=1, **inputs)
    with pytest.raises(TypeError, match="missing h0"):
        scan_module.scan(*list(inputs.values())[:-1])
    with pytest.raises(AttributeError, match="no function 'ssd'"):
        scan_module.ssd


def test_static_sizes_are_checked_before_the_call():
    module = ssmc.compile(SQUARES)
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    np.testing.assert_array_equal(module.squares(x), x * x)
    with pytest.raises(ValueError, match=r"dimension 0 is 3, the signature "
                       r"\[4, 8\] says 4"):
        module.squares(x[:3])


def test_caller_outputs_are_written_in_place():
    module = ssmc.compile(SQUARES, flags=["--caller-outputs"])
    assert [a["role"] for a in module.squares.arguments] == ["input", "output"]
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    y = np.zeros((4, 8), np.float32)
    assert module.squares(x, y) is None
    np.testing.assert_array_equal(y, x * x)
    with pytest.raises(ValueError, match="must be C-contiguous"):
        module.squares(x, np.zeros((8, 4), np.float32).T)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        module.squares(x, y)


def test_compile_errors_carry_locations():
    with pytest.raises(ssmc.CompileError) as error:
        ssmc.compile("func.func @f() {\n  return %x : f32\n}\n", name="bad.mlir")
    assert error.value.diagnostics[0].startswith(
        "bad.mlir:2:10: error: use of undeclared SSA value")
    with pytest.raises(ValueError, match="unknown flag '--fast'"):
        ssmc.compile(SQUARES, flags=["--fast"])


def test_emit_and_save_and_load(tmp_path):
    llvm = ssmc.emit(SQUARES, "llvm")
    assert "define void @_mlir_ciface_squares(" in llvm
    module = ssmc.compile(SQUARES)
    assert "_mlir_ciface_squares(ssmc_memref_2d_f32 *result" in module.header
    module.save(tmp_path / "libsquares.so")
    import json
    (tmp_path / "squares.json").write_text(json.dumps(module.interface))
    again = ssmc.load(tmp_path / "libsquares.so", tmp_path / "squares.json")
    x = np.ones((4, 8), np.float32) * 3
    np.testing.assert_array_equal(again.squares(x), x * x)


def test_results_outlive_the_module_and_are_freed():
    module = ssmc.compile(SQUARES)
    x = np.full((4, 8), 2.0, np.float32)
    results = [module.squares(x) for _ in range(100)]
    view = results[0][1:, 2:]
    del results, module
    np.testing.assert_array_equal(view, np.full((3, 6), 4.0, np.float32))


def test_artifacts_outlive_their_session():
    artifacts = ssmc.Session(["--emit=llvm"]).compile(SQUARES)
    import gc
    gc.collect()
    with pytest.raises(ssmc.CompileError, match="only a model folder has weights"):
        artifacts.get(3)  # the weights: reported through the session's callback
    assert b"define" in artifacts.get(0)


def test_cache_keeps_modules_across_calls(monkeypatch):
    cache = ssmc.compiler.cache_root()
    x = np.arange(32, dtype=np.float32).reshape(4, 8)
    first = ssmc.compile(SQUARES, cache=True)
    entries = sorted(p.name for p in cache.iterdir())
    # The module's folder, and the note naming it as the text's newest.
    folders = [p for p in cache.iterdir() if p.is_dir()]
    notes = [p for p in cache.iterdir() if p.suffix == ".newest"]
    assert len(entries) == 2 and len(folders) == 1 and len(notes) == 1
    assert notes[0].read_text() == folders[0].name
    # A hit loads what is there and compiles nothing.
    def no_compiler(*args, **kwargs):
        raise AssertionError("compiled although the module was cached")
    monkeypatch.setattr(ssmc.compiler, "Session", no_compiler)
    again = ssmc.compile(SQUARES, cache=True)
    assert np.array_equal(again.squares(x), x * x)
    assert np.array_equal(first.squares(x), again.squares(x))
    assert sorted(p.name for p in cache.iterdir()) == entries
    # Other flags, or another compiler, are other entries.
    with pytest.raises(AssertionError, match="compiled although"):
        ssmc.compile(SQUARES, flags=["--mcpu=x86-64-v3"], cache=True)
    stamp = ssmc._native.compiler_stamp()
    monkeypatch.setattr(ssmc._native, "compiler_stamp", lambda: stamp + b"!")
    with pytest.raises(AssertionError, match="compiled although"):
        ssmc.compile(SQUARES, cache=True)


def test_cache_refuses_paths(tmp_path):
    path = tmp_path / "squares.mlir"
    path.write_text(SQUARES)
    with pytest.raises(ValueError, match="caches MLIR text only"):
        ssmc.compile(path, cache=True)
    with pytest.raises(ValueError, match="caches MLIR text only"):
        ssmc.compile(str(path), cache=True)
