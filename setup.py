"""Builds the native half of the Python package: scripts/build.sh makes
libssmc_compiler.so and libssm_runtime.so in the repository's build folder
(incrementally, with ccache), and they are copied into ssmc/_lib/ of the
wheel. The rest is in pyproject.toml."""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
# The files the loader looks for: the compiler's C API and the runtime by
# their sonames, and the runtime again under the name the linker wants when
# ssmc links a generated library (-lssm_runtime). Wheels hold no symlinks.
LIBRARIES = {
    "libssmc_compiler.so.0": "libssmc_compiler.so.0",
    "libssm_runtime.so.1": "libssm_runtime.so.1",
    "libssm_runtime.so": "libssm_runtime.so.1",
}


class BuildWithNative(build_py):
    def run(self):
        super().run()
        build = Path(os.environ.get("SSM_BUILD_DIR", ROOT / "build"))
        subprocess.run([str(ROOT / "scripts" / "build.sh"), "ssmc_compiler",
                        "ssm_runtime"], check=True)
        target = Path(self.build_lib) / "ssmc" / "_lib"
        target.mkdir(parents=True, exist_ok=True)
        for name, source in LIBRARIES.items():
            shutil.copyfile(build / "lib" / source, target / name)


class NativeDistribution(Distribution):
    # Platform wheel: it carries shared libraries.
    def has_ext_modules(self):
        return True


# setuptools' own build folder defaults to build/, whose lib/ is CMake's.
setup(cmdclass={"build_py": BuildWithNative}, distclass=NativeDistribution,
      options={"build": {"build_base": "build/python"}})
