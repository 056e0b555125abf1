#!/usr/bin/env python3
"""Checks the packages `dotnet pack` wrote into a folder (called by tests/Packaging/run.sh).

usage: check_packages.py FEED VERSION

Exactly four packages (Entk.Core, Entk, Entk.Paper and the tool Entk.Cli), each with a symbol package; each with its
README, the MIT licence expression, a description, repository metadata (git, URL, commit), XML docs beside every
library assembly, a portable PDB with SourceLink in the .snupkg; the dependencies of each layer (TorchSharp and libtorch
only in Entk; none in Entk.Core; the tool has none and carries a patched libLibTorchSharp.so); Entk ships
buildTransitive/Entk.targets. Prints a table of sizes and dependencies. Exit code 1 on any problem.
"""
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile

feed, version = sys.argv[1], sys.argv[2]
problems = []


def problem(text):
    problems.append(text)
    print("  problem: " + text)


def nuspec(z):
    name = next(n for n in z.namelist() if n.endswith(".nuspec") and "/" not in n)
    root = ET.fromstring(z.read(name))
    ns = {"n": root.tag.split("}")[0].strip("{")}
    return root.find("n:metadata", ns), ns


def glibcxx_weak(data):
    """Flags of the GLIBCXX_3.4.32 version need of an ELF64 LE file: True (weak), False (not weak), None (absent)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for s in range(shnum):
        sh = shoff + s * shentsize
        if struct.unpack_from("<I", data, sh + 4)[0] != 0x6FFFFFFE:
            continue
        off, = struct.unpack_from("<Q", data, sh + 24)
        link, count = struct.unpack_from("<II", data, sh + 40)
        stroff, = struct.unpack_from("<Q", data, shoff + link * shentsize + 24)
        entry = off
        for _ in range(count):
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, entry)
            a = entry + aux
            for _ in range(cnt):
                _, flags, _, name, anext = struct.unpack_from("<IHHII", data, a)
                end = data.index(b"\0", stroff + name)
                if data[stroff + name:end] == b"GLIBCXX_3.4.32":
                    return bool(flags & 2)
                if anext == 0:
                    break
                a += anext
            if nxt == 0:
                break
            entry += nxt
    return None


expected = {
    # id: (kind, dependencies (id -> version or None for any), assemblies)
    "Entk.Core": ("library", {}, ["Entk.Core"]),
    "Entk": ("library", {"Entk.Core": version, "TorchSharp": None, "libtorch-cpu-linux-x64": None, "MathNet.Numerics": None}, ["Entk"]),
    "Entk.Paper": ("library", {"Entk": version, "ScottPlot": None}, ["Entk.Paper"]),
    "Entk.Cli": ("tool", {}, []),
}

found = sorted(f for f in os.listdir(feed) if f.endswith(".nupkg"))
wanted = sorted(f"{pid}.{version}.nupkg" for pid in expected)
extra = [f for f in found if f not in wanted]
if extra:
    problem("unexpected packages in the feed (test projects, probe or parity packed?): " + ", ".join(extra))

rows = []
for pid, (kind, deps, assemblies) in expected.items():
    path = os.path.join(feed, f"{pid}.{version}.nupkg")
    spath = os.path.join(feed, f"{pid}.{version}.snupkg")
    print(f"{pid} {version}")
    if not os.path.exists(path):
        problem(f"{path} is missing")
        continue
    if not os.path.exists(spath):
        problem(f"{spath} (symbols) is missing")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        md, ns = nuspec(z)
        get = lambda tag: (md.find("n:" + tag, ns).text or "").strip() if md.find("n:" + tag, ns) is not None else ""
        if get("id") != pid or get("version") != version:
            problem(f"{pid}: nuspec says {get('id')} {get('version')}")
        lic = md.find("n:license", ns)
        if lic is None or lic.get("type") != "expression" or lic.text != "MIT":
            problem(f"{pid}: licence is not the MIT expression")
        if len(get("description")) < 40:
            problem(f"{pid}: description too short: {get('description')!r}")
        if not get("projectUrl"):
            problem(f"{pid}: no projectUrl")
        readme = get("readme")
        if readme != "README.md" or "README.md" not in names or len(z.read("README.md")) < 300:
            problem(f"{pid}: README.md missing from the package or too short")
        elif not z.read("README.md").decode("utf-8").startswith("# " + pid):
            problem(f"{pid}: README.md does not start with '# {pid}'")
        repo = md.find("n:repository", ns)
        if repo is None or repo.get("type") != "git" or not repo.get("url", "").startswith("https://"):
            problem(f"{pid}: repository metadata missing (type git, https URL)")
        elif not re.fullmatch(r"[0-9a-f]{40}", repo.get("commit", "")):
            print(f"  note: no repository commit (not built from a git work tree)")
        got = {}
        for group in md.findall("n:dependencies/n:group", ns):
            for d in group.findall("n:dependency", ns):
                got[d.get("id")] = d.get("version")
        for dep, ver in deps.items():
            if dep not in got:
                problem(f"{pid}: no dependency on {dep}")
            elif ver is not None and got[dep] != ver:
                problem(f"{pid}: dependency {dep} {got[dep]}, expected {ver}")
        for dep in got:
            if dep not in deps:
                problem(f"{pid}: unexpected dependency {dep} {got[dep]}")
        for a in assemblies:
            for ext in (".dll", ".xml"):
                if f"lib/net10.0/{a}{ext}" not in names:
                    problem(f"{pid}: lib/net10.0/{a}{ext} missing")
        natives = [n for n in names if n.startswith("runtimes/") or n.endswith(".so")]
        if kind == "library" and natives:
            problem(f"{pid}: a library package carries native files: {natives[:3]}")
        if pid == "Entk":
            if "buildTransitive/Entk.targets" not in names or b"EntkPatchGlibcxxWeak" not in z.read("buildTransitive/Entk.targets"):
                problem("Entk: buildTransitive/Entk.targets (the GLIBCXX fix) missing")
        if kind == "tool":
            types = [t.get("name") for t in md.findall("n:packageTypes/n:packageType", ns)]
            if types != ["DotnetTool"]:
                problem(f"{pid}: package type {types}, expected DotnetTool")
            settings = [n for n in names if n.endswith("/DotnetToolSettings.xml")]
            if not settings or b'Name="entk"' not in z.read(settings[0]):
                problem(f"{pid}: DotnetToolSettings.xml does not name the command entk")
            shims = [n for n in names if n.endswith("/libLibTorchSharp.so")]
            if len(shims) != 1 or glibcxx_weak(z.read(shims[0])) is not True:
                problem(f"{pid}: the tool's libLibTorchSharp.so is missing or not patched ({shims})")
            else:
                print(f"  {shims[0]}: GLIBCXX_3.4.32 need is weak")
    if os.path.exists(spath):
        with zipfile.ZipFile(spath) as s:
            pdbs = [n for n in s.namelist() if n.endswith(".pdb")]
            if not pdbs:
                problem(f"{pid}: no PDB in the symbol package")
            for p in pdbs:
                data = s.read(p)
                if data[:4] != b"BSJB":
                    problem(f"{pid}: {p} is not a portable PDB")
                m = re.search(rb'\{"documents":\{"[^"]*":"(https://[^"]*)"\}\}', data)
                if not m:
                    problem(f"{pid}: {p} has no SourceLink")
                elif p.endswith(pid + ".pdb") or kind == "tool" and p.endswith("Entk.Cli.pdb"):
                    print(f"  SourceLink {os.path.basename(p)}: {m.group(1).decode()}")
    size = os.path.getsize(path)
    ssize = os.path.getsize(spath) if os.path.exists(spath) else 0
    rows.append((pid, size, ssize, ", ".join(f"{d} {v}" for d, v in got.items()) or "none"))

print()
print(f"{'package':<12} {'nupkg':>12} {'snupkg':>9}  dependencies")
for pid, size, ssize, deps in rows:
    print(f"{pid:<12} {size:>12,} {ssize:>9,}  {deps}")
if problems:
    print(f"{len(problems)} problem(s)")
    sys.exit(1)
print("packages: OK")
