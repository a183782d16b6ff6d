#!/usr/bin/env bash
# Formats the tree in place: clang-format (.clang-format) on the C and C++
# sources, then ruff (pyproject.toml [tool.ruff]) fixes lint findings it can
# fix (unused imports, import order) and formats the Python code. Files are
# those git tracks and the untracked ones it does not ignore (new files too).
# Paths given as arguments limit it to those files or folders.
#   bash tools/format.sh [PATH...]
# tools/check_style.sh checks the same without changing anything.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
RUFF=${RUFF:-ruff}
command -v "$CLANG_FORMAT" >/dev/null || { echo "format: $CLANG_FORMAT not found (apt install clang-format)" >&2; exit 2; }
command -v "$RUFF" >/dev/null || { echo "format: $RUFF not found (pip install ruff)" >&2; exit 2; }

mapfile -t cxx < <(git ls-files --cached --others --exclude-standard -- "${@:-.}" | grep -E '\.(c|cc|cpp|h|hpp)$' || true)
[ ${#cxx[@]} -eq 0 ] || "$CLANG_FORMAT" -i "${cxx[@]}"
mapfile -t py < <(git ls-files --cached --others --exclude-standard -- "${@:-.}" | grep -E '\.py$' || true)
if [ ${#py[@]} -gt 0 ]; then
  "$RUFF" check --fix --quiet "${py[@]}" || true  # what it cannot fix, check_style.sh reports
  "$RUFF" format --quiet "${py[@]}"
fi
