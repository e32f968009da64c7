"""Finish the generated project: write `.env` with fresh secrets, and say what to do next."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")

# The value `.env.example` uses for every secret; `.env` gets a fresh random value instead.
EXAMPLE_SECRET = "changeme"  # noqa: S105 - the value to replace, not a secret


def write_env(project: Path) -> None:
    """Create `.env` from `.env.example`, with a new random value for every secret."""
    example = (project / ".env.example").read_text(encoding="utf-8")
    secret = secrets.token_urlsafe(24)
    env = project / ".env"
    env.write_text(example.replace(EXAMPLE_SECRET, secret), encoding="utf-8")
    env.chmod(0o600)


def main() -> None:
    project = Path.cwd()
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
