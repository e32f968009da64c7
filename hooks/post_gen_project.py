"""Finish the generated project: keep the chosen mode's files, write `.env`, say what's next."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")

# The value `.env.example` uses for every secret; `.env` gets a fresh random value instead.
EXAMPLE_SECRET = "changeme"  # noqa: S105 - the value to replace, not a secret

# Files that differ a lot between the SQLAlchemy modes exist twice in the template, as
# `name.sync.py` and `name.async.py`, rather than as one file full of conditionals.
MODES = ("sync", "async")


def keep_mode_files(project: Path, mode: str) -> None:
    """Rename the chosen mode's `name.<mode>.py` files to `name.py`; delete the other mode's."""
    for path in sorted(project.rglob("*")):
        if not path.is_file() or len(path.suffixes) < 2 or path.suffixes[-2][1:] not in MODES:
            continue
        if path.suffixes[-2] != f".{mode}":
            path.unlink()
            continue
        target = path.with_name(Path(path.stem).stem + path.suffix)
        if target.exists():
            raise SystemExit(f"ERROR: both {target.name} and {path.name} are in the template")
        path.rename(target)


def write_env(project: Path) -> None:
    """Create `.env` from `.env.example`, with a new random value for every secret."""
    example = (project / ".env.example").read_text(encoding="utf-8")
    secret = secrets.token_urlsafe(24)
    env = project / ".env"
    env.write_text(example.replace(EXAMPLE_SECRET, secret), encoding="utf-8")
    env.chmod(0o600)


def main() -> None:
    project = Path.cwd()
    keep_mode_files(project, ANSWERS["sqlalchemy_mode"])
    write_env(project)
    print(
        f"\nCreated {ANSWERS['project_name']} in {project}\n\n"
        "Next steps:\n"
        f"  cd {project.name}\n"
        "  make run    # virtualenv, install, migrate, serve on http://127.0.0.1:8000\n"
        "  make test   # the test suite\n"
    )


if __name__ == "__main__":
    main()
