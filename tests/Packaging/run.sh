#!/usr/bin/env bash
# Package, tool and site tests: Entk consumed the way a user consumes it, from a local folder feed built in this run.
#
#   pack      `dotnet pack -c Release -o FEED` from the repository root (skipped when ENTK_PACKAGES_DIR names a folder
#             that already holds this version's packages, as .ci/run's does); then each package's metadata, README,
#             license, XML docs, dependencies, symbols and SourceLink are checked (tests/Packaging/check_packages.py).
#   console   a new console project (`dotnet new console`) outside the repository `dotnet add package Entk`, builds
#             (no RuntimeIdentifier, no repository targets: the GLIBCXX fix comes from the package) and runs a small
#             kernel computation (tests/Packaging/console/Program.cs).
#   tool      `dotnet tool install --tool-path DIR --add-source FEED Entk.Cli`; `entk --help`, `entk --version` and
#             `entk describe` (which loads libtorch) work.
#   fsi       an F# script with `#i "nuget: FEED"` and `#r "nuget: Entk, VERSION, usepackagetargets=true"` computes the
#             same kernel as the console program (same eigenvalues).
#   example   examples/interop.fsx through its NuGet route (RestoreAdditionalProjectSources=FEED, see examples/README.md).
#   docs      the reference site (./docs.sh, warnings are errors) renders in headless Chromium with the expected headings.
#
# Isolation: every restore here uses its own global packages folder and HTTP cache under a temporary folder, with the
# user's global packages folder as a read-only fallback for third-party packages (TorchSharp, libtorch, …), so nothing
# is written into the user's NuGet cache and no large package is downloaded again. F# Interactive runs with HOME set
# to a temporary folder (its package-resolution cache and NuGet settings live under HOME); its packages folder is
# seeded with a copy of the user's torchsharp package and a link to libtorch (read only), because TorchSharp's
# interactive loader copies libtorch's natives into the torchsharp package folder and needs both side by side.
#
# Prints one line per test (PASS/FAIL/SKIP name) and closes with "packaging tests: passed=N failed=N skipped=N",
# which test.sh adds to its own closing line. Exit code 1 if any test failed.
# Environment: ENTK_PACKAGES_DIR (use these packages), ENTK_REQUIRE_BROWSER=1 (a missing Chromium fails the docs test
# instead of skipping it; set by .ci/run), ENTK_KEEP_PACKAGING_WORK=1 (keep the temporary folder).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
py=/usr/bin/python3

passed=0; failed=0; skipped=0
pass() { passed=$((passed + 1)); echo "PASS $1 ($(( $(date +%s) - t0 )) s)"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1: $2"; }
show() { echo "---- $1 (last 40 lines)"; tail -n 40 "$2"; echo "----"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/entk-packaging.XXXXXXXX")"
case "$work/" in "$repo"/*) echo "FAIL setup: the temporary folder $work is inside the repository"; exit 1 ;; esac
if [ "${ENTK_KEEP_PACKAGING_WORK:-0}" = "1" ]; then echo "packaging tests: work folder $work (kept)"; else trap 'rm -rf "$work"' EXIT; fi
export NUGET_HTTP_CACHE_PATH="$work/nuget-http-cache"

version="$(dotnet msbuild src/Entk.Core/Entk.Core.csproj -getProperty:Version -p:Configuration=Release 2>/dev/null | tr -d '[:space:]')"
user_packages="$(cd "$work" && dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
user_packages="${user_packages%/}"
mapfile -t upstream < <(cd "$work" && dotnet nuget list source --format short | awk '$1 == "E" { print $2 }')
echo "packaging tests: version $version; user packages $user_packages (read-only fallback); work folder $work"

# The user's copy of the TorchSharp shim must stay as it was (never patched by a consumer build or by these tests).
user_shim="$(ls "$user_packages"/torchsharp/*/runtimes/linux-x64/native/libLibTorchSharp.so 2>/dev/null | head -n 1)"
shim_flags() { readelf -V "$1" 2>/dev/null | grep -o 'GLIBCXX_3.4.32 *Flags: [A-Za-z]*' | awk '{ print $3 }'; }
user_shim_before="$( [ -n "$user_shim" ] && shim_flags "$user_shim" )"
user_had_entk="$(ls -d "$user_packages"/entk* 2>/dev/null | sort | tr '\n' ' ')"

# A NuGet.Config: its own global packages folder, the local feed for Entk* only (package source mapping), the user's
# enabled sources for everything else, and the user's global packages folder as a fallback folder.
write_config() { # file packages-folder
  {
    echo '<?xml version="1.0" encoding="utf-8"?>'
    echo '<configuration>'
    echo "  <config><add key=\"globalPackagesFolder\" value=\"$2\" /></config>"
    echo '  <packageSources><clear />'
    echo "    <add key=\"entk-local\" value=\"$feed\" />"
    local i=0; for s in "${upstream[@]}"; do i=$((i + 1)); echo "    <add key=\"upstream$i\" value=\"$s\" />"; done
    echo '  </packageSources>'
    echo '  <packageSourceMapping>'
    echo '    <packageSource key="entk-local"><package pattern="Entk" /><package pattern="Entk.*" /></packageSource>'
    i=0; for s in "${upstream[@]}"; do i=$((i + 1)); echo "    <packageSource key=\"upstream$i\"><package pattern=\"*\" /></packageSource>"; done
    echo '  </packageSourceMapping>'
    echo "  <fallbackPackageFolders><clear /><add key=\"user-packages\" value=\"$user_packages\" /></fallbackPackageFolders>"
    echo '</configuration>'
  } > "$1"
}

# ---- pack
t0=$(date +%s)
feed="${ENTK_PACKAGES_DIR:-}"
packs_ok=1
if [ -n "$feed" ] && [ -f "$feed/Entk.$version.nupkg" ]; then
  feed="$(cd "$feed" && pwd)"
  echo "packaging tests: using the packages in $feed"
else
  feed="$work/feed"
  if ! dotnet pack -c Release -o "$feed" --nologo > "$work/pack.log" 2>&1; then
    show "dotnet pack" "$work/pack.log"; packs_ok=0
  fi
fi
if [ "$packs_ok" = 1 ] && "$py" "$here/check_packages.py" "$feed" "$version" > "$work/check.log" 2>&1; then
  cat "$work/check.log"; pass pack
else
  [ -f "$work/check.log" ] && cat "$work/check.log"
  fail pack "packing or the package checks failed (see above)"; packs_ok=0
fi

# ---- console: dotnet new console + dotnet add package Entk, build, run
t0=$(date +%s)
console_values=""
if [ "$packs_ok" = 1 ]; then
  mkdir -p "$work/console"
  write_config "$work/console/NuGet.Config" "$work/console/packages"
  app="$work/console/EntkConsumer"
  if ! (dotnet new console -o "$app" -n EntkConsumer --no-restore > "$work/console.log" 2>&1 &&
        cd "$app" && dotnet add package Entk --version "$version" >> "$work/console.log" 2>&1 &&
        cp "$here/console/Program.cs" Program.cs &&
        dotnet build -c Release --nologo -v m > "$work/console-build.log" 2>&1); then
    show "console log" "$work/console.log"; [ -f "$work/console-build.log" ] && show "console build" "$work/console-build.log"
    fail console "dotnet new/add package/build failed"
  elif ! (cd "$app" && dotnet run -c Release --no-build > "$work/console-run.log" 2>&1); then
    show "console run" "$work/console-run.log"; fail console "the program failed"
  else
    cat "$work/console-run.log"
    console_values="$(sed -n 's/^eigenvalues: //p' "$work/console-run.log")"
    shim="$(find "$app/bin" -name libLibTorchSharp.so | head -n 1)"
    problems=""
    grep -q "consumer kernel: OK" "$work/console-run.log" || problems="$problems; no 'consumer kernel: OK'"
    grep -q "EntkPatchGlibcxxWeak: marked GLIBCXX_3.4.32 weak" "$work/console-build.log" || problems="$problems; the package's build step did not patch the shim"
    [ -z "$shim" ] && problems="$problems; no libLibTorchSharp.so in the output"
    if [ -n "$shim" ] && command -v readelf >/dev/null; then [ "$(shim_flags "$shim")" = "WEAK" ] || problems="$problems; $shim is not patched"; fi
    [ -f "$work/console/packages/entk/$version/lib/net10.0/Entk.dll" ] || problems="$problems; Entk was not restored into the isolated packages folder"
    if [ -z "$problems" ]; then pass console; else fail console "${problems#; }"; fi
  fi
else
  skip console "no packages"
fi

# ---- tool: dotnet tool install --tool-path … --add-source FEED Entk.Cli
t0=$(date +%s)
if [ "$packs_ok" = 1 ]; then
  mkdir -p "$work/tool"
  if ! (cd "$work/tool" && dotnet tool install --tool-path "$work/tools" --add-source "$feed" --version "$version" Entk.Cli > "$work/tool.log" 2>&1); then
    show "tool install" "$work/tool.log"; fail tool "dotnet tool install failed"
  else
    problems=""
    "$work/tools/entk" --help > "$work/tool-help.log" 2>&1 || problems="$problems; entk --help exited with $?"
    for word in reproduce tms mlp ntk describe; do grep -q "^  $word " "$work/tool-help.log" || problems="$problems; --help lacks '$word'"; done
    tv="$("$work/tools/entk" --version 2>&1)"; case "$tv" in "$version"*) ;; *) problems="$problems; entk --version printed '$tv'";; esac
    "$work/tools/entk" describe > "$work/tool-describe.log" 2>&1 || problems="$problems; entk describe exited with $?"
    grep -q "^libtorch: 2\." "$work/tool-describe.log" || problems="$problems; describe shows no libtorch version"
    grep -q "^mkl: Intel" "$work/tool-describe.log" || problems="$problems; describe found no oneMKL (libtorch not loaded)"
    head -n 12 "$work/tool-help.log"; head -n 4 "$work/tool-describe.log"
    if [ -z "$problems" ]; then pass tool; else show "entk describe" "$work/tool-describe.log"; fail tool "${problems#; }"; fi
  fi
else
  skip tool "no packages"
fi

# ---- F# Interactive: #i "nuget: FEED" and #r "nuget: Entk, …"
fsi_home="$work/fsi-home"
fsi_packages="$work/fsi-packages"
fsi_env() { env HOME="$fsi_home" DOTNET_CLI_HOME="$fsi_home" "$@"; }
t0=$(date +%s)
if [ "$packs_ok" != 1 ]; then
  skip fsi "no packages"
elif [ -e /usr/lib/x86_64-linux-gnu/libtorch_cpu.so ]; then
  fail fsi "Debian's libtorch-dev is installed (/usr/lib/x86_64-linux-gnu/libtorch_cpu.so): TorchSharp loaded from the NuGet cache picks it up and cannot load its shim; install python3-torch with --no-install-recommends"
else
  mkdir -p "$fsi_home/.nuget/NuGet" "$fsi_packages" "$work/fsi"
  write_config "$fsi_home/.nuget/NuGet/NuGet.Config" "$fsi_packages"
  [ -d "$user_packages/torchsharp" ] && cp -a "$user_packages/torchsharp" "$fsi_packages/"
  [ -d "$user_packages/libtorch-cpu-linux-x64" ] && ln -s "$user_packages/libtorch-cpu-linux-x64" "$fsi_packages/libtorch-cpu-linux-x64"
  sed -e "s#@FEED@#$feed#" -e "s#@VERSION@#$version#" "$here/fsi/kernel.fsx" > "$work/fsi/kernel.fsx"
  if ! (cd "$work/fsi" && fsi_env dotnet fsi kernel.fsx > "$work/fsi.log" 2>&1); then
    show "dotnet fsi" "$work/fsi.log"; fail fsi "the script failed"
  else
    cat "$work/fsi.log"
    problems=""
    grep -q "^entk $version from $fsi_packages/entk/$version/" "$work/fsi.log" || problems="$problems; Entk was not loaded from the isolated packages folder"
    fsi_values="$(sed -n 's/^eigenvalues: //p' "$work/fsi.log")"
    if [ -n "$console_values" ]; then
      "$py" - "$console_values" "$fsi_values" <<'EOF' || problems="$problems; eigenvalues differ from the console program's"
import sys
a = [float(v) for v in sys.argv[1].split()]; b = [float(v) for v in sys.argv[2].split()]
ok = len(a) == len(b) == 4 and all(abs(x - y) <= 1e-12 * abs(a[0]) for x, y in zip(a, b))
print("fsi eigenvalues equal the console program's to 1e-12 relative:", ok)
sys.exit(0 if ok else 1)
EOF
    fi
    if [ -z "$problems" ]; then pass fsi; else fail fsi "${problems#; }"; fi
  fi
fi

# ---- an example through its NuGet route
t0=$(date +%s)
if [ "$packs_ok" != 1 ] || [ ! -d "$fsi_home" ]; then
  skip example "no packages or no F# Interactive set-up"
else
  if ! (cd "$repo" && fsi_env RestoreAdditionalProjectSources="$feed" dotnet fsi examples/interop.fsx "$work/example-out" > "$work/example.log" 2>&1); then
    show "examples/interop.fsx" "$work/example.log"; fail example "examples/interop.fsx failed through the NuGet route"
  else
    problems=""
    grep -q "^entk library: $fsi_packages/entk/$version/lib/" "$work/example.log" || problems="$problems; the example did not load Entk from the feed's package"
    oks="$(grep -c ": OK$" "$work/example.log")"; [ "$oks" -ge 4 ] || problems="$problems; only $oks OK lines"
    grep -m 1 "^entk library: " "$work/example.log"
    if [ -z "$problems" ]; then pass example; else show "examples/interop.fsx" "$work/example.log"; fail example "${problems#; }"; fi
  fi
fi

# Nothing was written into the user's NuGet cache.
if [ -n "$user_shim" ] && command -v readelf >/dev/null && [ "$(shim_flags "$user_shim")" != "$user_shim_before" ]; then
  fail isolation "the user's $user_shim changed ($user_shim_before -> $(shim_flags "$user_shim"))"
fi
if [ "$(ls -d "$user_packages"/entk* 2>/dev/null | sort | tr '\n' ' ')" != "$user_had_entk" ]; then
  fail isolation "Entk packages appeared in the user's global packages folder $user_packages"
fi

# ---- docs: build (if needed) and render in headless Chromium
t0=$(date +%s)
"$here/site_test.sh" "$work/site" > "$work/site.log" 2>&1
rc=$?
cat "$work/site.log"
case $rc in
  0) pass docs ;;
  3) skip docs "$(tail -n 1 "$work/site.log")" ;;
  *) fail docs "$(tail -n 1 "$work/site.log")" ;;
esac

echo "packaging tests: passed=$passed failed=$failed skipped=$skipped"
[ "$failed" -eq 0 ]
