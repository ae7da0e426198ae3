"""The Docker image installs the versions in constraints.txt: every package the service
needs at run time is pinned there, to a version pyproject.toml allows."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent
EXACT_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pin = EXACT_PIN.fullmatch(line.strip())
        assert pin, f"constraints.txt: {line!r} is not an exact pin (name==version)"
        pins[canonicalize_name(pin[1])] = pin[2]
    return pins


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def everything_installed_for(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install, as the ones installed here declare
    their own requirements (extras included)."""
    installed: set[str] = set()
    asked: set[tuple[str, frozenset[str]]] = set()
    pending = list(requirements)
    while pending:
        requirement = pending.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) not in asked:
            asked.add((name, extras))
            installed.add(name)
            pending.extend(brought_along(requirement))
    return installed


def brought_along(requirement: Requirement) -> list[Requirement]:
    try:
        declared = metadata.requires(requirement.name) or []
    except metadata.PackageNotFoundError:  # not installed here: its own pin is checked
        return []
    extras = {"", *requirement.extras}
    return [
        needed
        for needed in map(Requirement, declared)
        if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras)
    ]


def test_every_runtime_dependency_is_pinned_to_a_version_pyproject_allows():
    pins = pinned_versions()
    problems = []
    for requirement in runtime_requirements():
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    assert problems == [], "regenerate constraints.txt as README says"


def test_what_the_dependencies_bring_with_them_is_pinned_too():
    unpinned = everything_installed_for(runtime_requirements()) - pinned_versions().keys()
    assert sorted(unpinned) == [], "regenerate constraints.txt as README says"
