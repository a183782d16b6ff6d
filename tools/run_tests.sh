#!/usr/bin/env bash
# Installs everything the test suite needs, then runs it.
#   - Debian packages for the firmware ports (Arm GCC, newlib, QEMU), for
#     rendering reports (chromium) and for running the portable wheel on an
#     emulated CPU without AVX (qemu-user) and for the style check
#     (clang-format) when absent (needs root or sudo;
#     skipped with a message otherwise);
#   - this package with its [test] extras (builds the C++ engine);
#   - then pytest over tests/.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -k conv -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need_pkgs+=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib)
command -v qemu-system-arm >/dev/null 2>&1 || need_pkgs+=(qemu-system-arm)
command -v cmake >/dev/null 2>&1 || need_pkgs+=(cmake)
command -v ninja >/dev/null 2>&1 || need_pkgs+=(ninja-build)
# Headless Chromium renders `tinyops report`'s HTML in tests/test_report_html.py.
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
# qemu-x86_64 runs the portable wheel on an emulated CPU without AVX (tests/test_wheel.py).
command -v qemu-x86_64 >/dev/null 2>&1 || need_pkgs+=(qemu-user)
# tools/check_style.sh and tools/format.sh (ruff comes with the [test] extras).
command -v clang-format >/dev/null 2>&1 || need_pkgs+=(clang-format)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "run_tests: cannot install ${need_pkgs[*]} (not root, no sudo); the tests needing them will say so" >&2
  else
    echo "run_tests: installing ${need_pkgs[*]} (apt)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3}
echo "run_tests: pip install .[test]"
"$PY" -m pip install -q --disable-pip-version-check ".[test]"
# Formatting (clang-format, ruff format) and lint (ruff) of the tracked
# sources: a difference fails the run before the tests (fix: bash tools/format.sh).
echo "run_tests: style (tools/check_style.sh)"
bash tools/check_style.sh
echo "run_tests: pytest"
# Run from outside the checkout: child processes (`python -m tinyops_tflm ...`,
# Ray workers) put their working directory first on sys.path, where the
# source tree's tinyops_tflm (without the built extension) would shadow the
# installed package. Paths among the arguments are taken relative to the
# checkout, as before.
ROOT=$PWD
args=()
paths=0
for a in "$@"; do
  if [[ "$a" != -* && -e "$ROOT/${a%%::*}" ]]; then args+=("$ROOT/$a"); paths=1; else args+=("$a"); fi
done
[ $paths -eq 1 ] || args+=("$ROOT/tests")
RUN_DIR=$(mktemp -d)
cd "$RUN_DIR"
exec "$PY" -P -m pytest -q -rs -p no:cacheprovider --rootdir "$ROOT" -c "$ROOT/pyproject.toml" "${args[@]}"
