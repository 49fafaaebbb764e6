"""Write requirements.lock: the exact versions of everything `massfield[pipeline]` installs,
as installed in the environment that made the committed results (dvc.lock, the metrics).

    python reproduce/lock.py        (from the repository root, in that environment)

Only the pipeline's own dependency tree is pinned — not the test tools, PyTorch or
whatever else the environment holds — so that README's pipeline command installs the
same versions and nothing more.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure(root: str, extras: set[str]) -> dict[str, str]:
    """Installed distribution name → version, for ``root[extras]`` and all it requires."""
    found: dict[str, str] = {}
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional requirement this platform does not install
        key = _name(dist.metadata["Name"])
        seen_extras = found.get(key, (None, set()))[1]
        if key in found and wanted <= seen_extras:
            continue
        found[key] = (dist.version, seen_extras | wanted)
        for text in dist.requires or []:
            requirement = Requirement(text)
            environment = {"extra": ""}
            if requirement.marker and not any(
                    requirement.marker.evaluate({**environment, "extra": extra})
                    for extra in wanted | {""}):
                continue
            todo.append((requirement.name, set(requirement.extras)))
    return {key: version for key, (version, _) in found.items() if key != _name(root)}


def main() -> None:
    pins = closure("massfield", {"pipeline", "learn"})
    header = (f"# massfield[pipeline]'s dependency tree as installed when the committed results "
              f"were made\n# (Python {sys.version.split()[0]}); written by "
              f"`python reproduce/lock.py`. Used by README's pipeline command.\n")
    LOCK.write_text(header + "".join(f"{name}=={version}\n"
                                     for name, version in sorted(pins.items())))
    print(f"wrote {LOCK}: {len(pins)} packages")


if __name__ == "__main__":
    main()
