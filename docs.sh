#!/usr/bin/env bash
# Builds the reference site into docs/_site with DocFX (the .NET tool pinned in .config/dotnet-tools.json): the API
# reference from the XML docs of Entk.Core, Entk and Entk.Paper (their Release build), plus the conceptual pages in
# docs/*.md. Warnings are errors. Needs no network beyond the NuGet feed (the first `dotnet tool restore`): DocFX's
# templates come from the tool package itself. Open docs/_site/index.html, or serve the folder:
#   python3 -m http.server --directory docs/_site 8080
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet tool restore > /dev/null
# The three library assemblies and their XML docs (Entk.Paper's output folder holds all three and their references).
dotnet build src/Entk.Paper/Entk.Paper.csproj -c Release -v q --nologo
rm -rf docs/_site docs/obj docs/api/.manifest
find docs/api -name '*.yml' -delete
# --warningsAsErrors makes docfx exit non-zero on any warning (its summary still says "Build succeeded with warning").
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet docfx docs/docfx.json --warningsAsErrors 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ] || grep -qE "^ *[1-9][0-9]* (warning|error)\(s\)" "$log"; then
  echo "docs.sh: the site has warnings or errors (treated as errors)" >&2
  exit 1
fi
echo "site: $(pwd)/docs/_site/index.html"
