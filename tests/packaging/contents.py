"""
What the release artefacts hold, checked against the source tree.

    python tests/packaging/contents.py DIST

checks the one wheel and the one sdist in directory C{DIST} (as C{python -m build} leaves
them) and prints each problem; the exit status is 1 if there is one. C{.ci/run} runs it on the
artefacts it builds, and C{test_artefacts.py} runs the same checks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]

#: Source directories whose tracked files the sdist must hold, and the single files.
SDIST_TREES = ("txdane", "twisted", "tests", "docs", "bench", "tools", "fuzz")
SDIST_FILES = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in")

#: Never in either artefact.
JUNK = re.compile(r"(^|/)(__pycache__|\.venv[^/]*|\.git|build|dist)/|\.py[cod]$|dropin\.cache$")


def version() -> str:
    """
    The version, from its one source: C{__version__} in C{txdane/__init__.py}.
    """
    text = (ROOT / "txdane" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    assert match, "no __version__ line in txdane/__init__.py"
    return match.group(1)


def trackedFiles() -> list[str]:
    """
    The files git tracks in the source tree (POSIX paths relative to its root).
    """
    output = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in output.decode().split("\0") if name and (ROOT / name).is_file()]


def wheelProblems(wheel: Path, tracked: list[str], expected: str) -> list[str]:
    problems = []
    if not wheel.name.startswith(f"txdane-{expected}-py3-none-any"):
        problems.append(f"{wheel.name}: not a pure-Python wheel of version {expected}")
    names = set(zipfile.ZipFile(wheel).namelist())
    distInfo = f"txdane-{expected}.dist-info/"
    wanted = {n for n in tracked if n.startswith("txdane/")} | {
        n for n in tracked if n.startswith("twisted/plugins/txdane_") and n.endswith(".py")
    }
    wanted |= {distInfo + "METADATA", distInfo + "entry_points.txt", distInfo + "licenses/LICENSE"}
    problems += [f"{wheel.name}: {n} is missing" for n in sorted(wanted - names)]
    for name in sorted(names - wanted):
        if not name.startswith(distInfo) or JUNK.search(name):
            problems.append(f"{wheel.name}: {name} does not belong in the wheel")
    return problems


def sdistProblems(sdist: Path, tracked: list[str], expected: str) -> list[str]:
    problems = []
    top = f"txdane-{expected}"
    if sdist.name != f"{top}.tar.gz":
        problems.append(f"{sdist.name}: not the sdist of version {expected}")
    with tarfile.open(sdist) as archive:
        members = [m.name for m in archive.getmembers() if m.isfile()]
    names = set()
    for member in members:
        path = PurePosixPath(member)
        if path.parts[0] != top:
            problems.append(f"{sdist.name}: {member} is outside {top}/")
            continue
        names.add(str(PurePosixPath(*path.parts[1:])))
    wanted = {n for n in tracked if n.split("/")[0] in SDIST_TREES}
    wanted |= {*SDIST_FILES, "PKG-INFO"}
    problems += [f"{sdist.name}: {n} is missing" for n in sorted(wanted - names)]
    for name in sorted(names - wanted):
        if JUNK.search(name) or not (name.startswith("txdane.egg-info/") or name == "setup.cfg"):
            problems.append(f"{sdist.name}: {name} does not belong in the sdist")
    return problems


def problems(dist: Path) -> list[str]:
    """
    Everything wrong with the wheel and the sdist in C{dist}.
    """
    wheels = sorted(dist.glob("txdane-*.whl"))
    sdists = sorted(dist.glob("txdane-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"{dist}: want one wheel and one sdist, found {wheels + sdists}"]
    tracked = trackedFiles()
    expected = version()
    return wheelProblems(wheels[0], tracked, expected) + sdistProblems(sdists[0], tracked, expected)


if __name__ == "__main__":
    found = problems(Path(sys.argv[1]))
    for problem in found:
        print(problem, file=sys.stderr)
    sys.exit(1 if found else 0)
