#!/usr/bin/env bash
# The SDK as a user gets it (docs/sdk.md): installs the build into a
# temporary prefix, moves the installation elsewhere (it must not depend on
# where it was installed, nor on the build tree), checks that every installed
# tool starts, then configures, builds and runs examples/downstream against
# it through find_package(ssmc), with LD_LIBRARY_PATH unset. Builds first if
# needed, like scripts/test.sh, which runs this after ctest.
#
# A script rather than a ctest entry: it needs the whole build installed,
# and the sanitizer build (whose runtime only links into sanitized programs)
# runs the same ctest suite.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SSM_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/installed" >/dev/null
mv "$work/installed" "$work/prefix"
prefix=$work/prefix
if leaked=$(grep -rl -e "$root" -e "$work/installed" "$prefix/lib/cmake"); then
  echo "test-install: the CMake package names the build or install path:" >&2
  echo "$leaked" >&2
  exit 1
fi
for tool in ssmc ssm-opt ssm-run ssm-lsp-server; do
  if ! env -u LD_LIBRARY_PATH "$prefix/bin/$tool" --help >/dev/null 2>&1; then
    echo "test-install: installed $tool does not start:" >&2
    env -u LD_LIBRARY_PATH "$prefix/bin/$tool" --help 2>&1 | head -5 >&2
    exit 1
  fi
done

echo "test-install: examples/downstream against ssmc installed in $prefix"
env -u LD_LIBRARY_PATH cmake -G Ninja -S "$root/examples/downstream" \
  -B "$work/downstream" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
env -u LD_LIBRARY_PATH ninja -C "$work/downstream"
env -u LD_LIBRARY_PATH "$work/downstream/decode_step"
env -u LD_LIBRARY_PATH "$work/downstream/compile_at_run_time"
