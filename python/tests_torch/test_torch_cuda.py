"""ssmc.torch on CUDA tensors. Every kernel that ssmc.torch's ops build is
compiled for each architecture the ops pick (`ssmc.torch.cuda_arch`), on
any machine. Where PyTorch sees a GPU, the ops also run on CUDA tensors and
are compared with the same ops on the CPU; no GPU has run that test yet
(docs/python.md)."""

import pytest
import torch

import ssmc
import ssmc.torch as ssmc_torch
import torch_cuda_cases


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A folder prepared as scripts/gpu-bundle.sh prepares one, and the
    (text, name) of the kernels compiled into it."""
    folder = tmp_path_factory.mktemp("torch-cuda")
    return folder, torch_cuda_cases.prepare(folder)


def test_cuda_arch():
    assert ssmc_torch.cuda_arch((9, 0)) == "sm_90a"
    assert ssmc_torch.cuda_arch((10, 0)) == "sm_90"
    assert ssmc_torch.cuda_arch((8, 6)) == "sm_80"
    with pytest.raises(NotImplementedError, match="7.5"):
        ssmc_torch.cuda_arch((7, 5))


def test_every_kernel_compiles_for_the_gpu(prepared):
    folder, kernels = prepared
    assert len(kernels) >= 8
    # Each kernel for each architecture is in the cache, and loads as a
    # module that runs on the GPU.
    modules = [p for p in (folder / "cache").iterdir() if p.is_dir()]
    assert len(modules) == len(kernels) * (1 + len(torch_cuda_cases.ARCHS))
    devices = sorted(ssmc.compiler._load_entry(p).device for p in modules)
    assert devices.count("cuda") == len(kernels) * len(torch_cuda_cases.ARCHS)


def test_devices_are_checked():
    # Through the ops, a meta tensor would take the fake implementation and
    # a CUDA one needs a GPU, so the check is called directly.
    cpu, meta = torch.zeros(2), torch.zeros(2, device="meta")
    with pytest.raises(ValueError, match="weight is on meta and x on cpu"):
        ssmc_torch._device([("x", cpu), ("weight", meta)])
    with pytest.raises(NotImplementedError, match="runs on the CPU and on"):
        ssmc_torch._device([("x", meta)])
    assert ssmc_torch._device([("x", cpu), ("y", cpu)]).type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_tensors_match_the_cpu(prepared):
    folder, _ = prepared
    assert torch_cuda_cases.check(folder) == []
