#!/usr/bin/env bash
# Runs every test suite of Entk and prints one closing line "N passed, N failed, N skipped".
#   - the NUnit projects of Entk.sln (C# unit tests, F# API tests, parity tests),
#   - the pytest suite of the Python reference (reference-python/tests), when Debian's python3 has numpy + torch,
#   - the package, tool and site tests (tests/Packaging/run.sh): `dotnet pack` into a temporary feed (or the packages in
#     ENTK_PACKAGES_DIR), a console project, the `entk` tool and F# scripts consuming them, and the reference site
#     rendered in headless Chromium (skipped without Chromium unless ENTK_REQUIRE_BROWSER=1). ENTK_SKIP_PACKAGING=1
#     skips them (counted as one skipped test).
# Without Python the parity tests and pytest are skipped with a reason, unless ENTK_REQUIRE_PYTHON=1
# (set by .ci/run), which turns a missing Python into a failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# Test assemblies run side by side: passive OpenMP waiting avoids threads spinning for a core.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
log="$(mktemp)"
status=0

dotnet test Entk.sln -c Release --nologo 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
aborted=$(grep -c "Test Run Aborted" "$log" || true)

py=/usr/bin/python3
pyp=0; pyf=0; pys=0
if "$py" -c "import numpy, scipy, torch, pytest" >/dev/null 2>&1; then
  pylog="$(mktemp)"
  "$py" -m pytest -q -p no:cacheprovider 2>&1 | tee "$pylog"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  line=$(grep -E "^(=+ )?[0-9]+ (passed|failed|skipped|error)" "$pylog" | tail -n 1)
  pyp=$(echo "$line" | grep -oE "[0-9]+ passed" | grep -oE "[0-9]+" || echo 0)
  pyf=$(( $(echo "$line" | grep -oE "[0-9]+ failed" | grep -oE "[0-9]+" || echo 0) + $(echo "$line" | grep -oE "[0-9]+ error" | grep -oE "[0-9]+" || echo 0) ))
  pys=$(echo "$line" | grep -oE "[0-9]+ skipped" | grep -oE "[0-9]+" || echo 0)
elif [ "${ENTK_REQUIRE_PYTHON:-0}" = "1" ]; then
  echo "ERROR: ENTK_REQUIRE_PYTHON=1 but $py cannot import numpy, scipy, torch and pytest." >&2
  pyf=1; status=1
else
  echo "pytest suite skipped: $py lacks numpy/scipy/torch/pytest (apt-get install --no-install-recommends python3-numpy python3-scipy python3-torch python3-pytest)."
  pys=1
fi

pkp=0; pkf=0; pks=0
if [ "${ENTK_SKIP_PACKAGING:-0}" = "1" ]; then
  echo "package, tool and site tests skipped: ENTK_SKIP_PACKAGING=1."
  pks=1
else
  pklog="$(mktemp)"
  tests/Packaging/run.sh 2>&1 | tee "$pklog"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  line=$(grep -E "^packaging tests: passed=[0-9]+ failed=[0-9]+ skipped=[0-9]+$" "$pklog" | tail -n 1)
  if [ -n "$line" ]; then
    pkp=$(echo "$line" | sed -E 's/.*passed=([0-9]+).*/\1/')
    pkf=$(echo "$line" | sed -E 's/.*failed=([0-9]+).*/\1/')
    pks=$(echo "$line" | sed -E 's/.*skipped=([0-9]+).*/\1/')
  else
    echo "ERROR: tests/Packaging/run.sh ended without its summary line." >&2
    pkf=1; status=1
  fi
fi

awk -v pyp="$((pyp + pkp))" -v pyf="$((pyf + pkf))" -v pys="$((pys + pks))" -v ab="$aborted" '
  /^(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ { gsub(",", ""); f+=$4; p+=$6; s+=$8 }
  END { printf "%d passed, %d failed, %d skipped\n", p+pyp, f+pyf+ab, s+pys }' "$log"
exit $status
