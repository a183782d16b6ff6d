#!/usr/bin/env bash
# Checks formatting and lint without changing files; exits non-zero when
# clang-format would change a C/C++ file, when ruff format would change a
# Python file or when ruff's lint rules find something. tools/format.sh fixes
# all but the lint findings ruff cannot fix itself. Files as format.sh: new,
# not yet added ones included, so a local run sees what CI will.
#   bash tools/check_style.sh [PATH...]
set -uo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
RUFF=${RUFF:-ruff}
command -v "$CLANG_FORMAT" >/dev/null || { echo "check_style: $CLANG_FORMAT not found (apt install clang-format)" >&2; exit 2; }
command -v "$RUFF" >/dev/null || { echo "check_style: $RUFF not found (pip install ruff)" >&2; exit 2; }

status=0
mapfile -t cxx < <(git ls-files --cached --others --exclude-standard -- "${@:-.}" | grep -E '\.(c|cc|cpp|h|hpp)$' || true)
if [ ${#cxx[@]} -gt 0 ]; then
  bad=()
  for f in "${cxx[@]}"; do
    "$CLANG_FORMAT" "$f" | cmp -s - "$f" || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    printf 'check_style: clang-format would change %s\n' "${bad[@]}" >&2
    status=1
  fi
fi
mapfile -t py < <(git ls-files --cached --others --exclude-standard -- "${@:-.}" | grep -E '\.py$' || true)
if [ ${#py[@]} -gt 0 ]; then
  "$RUFF" format --check "${py[@]}" || status=1
  "$RUFF" check "${py[@]}" || status=1
fi
[ $status -eq 0 ] && echo "check_style: ok (${#cxx[@]} C/C++ files, ${#py[@]} Python files)"
[ $status -eq 0 ] || echo "check_style: run bash tools/format.sh to fix formatting" >&2
exit $status
