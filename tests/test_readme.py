"""The READMEs keep their promises: the template's two commands first, and they exist; the
generated project's walk-through runs when pasted."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import TEMPLATE_DIR, Baked, each_combination, serving
from tests.mail import mailpit, smtp_env


def test_readme_opens_with_the_two_commands() -> None:
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:bash|sh)\n(.*?)```", readme, re.DOTALL)

    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert [command for command in commands if command] == ["make demo", "make test"]
    makefile = (TEMPLATE_DIR / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)


# The generated README's walk-through: every bash block from its login to its key rotation.
WALK_THROUGH = ("### Logging in", "### Rotating `SECRET_KEY`")
APP_ADDRESS = "localhost:8000"
MAILPIT_ADDRESS = "localhost:8025"
# Records each request to the app (the status line of its answer), in order; a request that
# names the app's port is one.
RECORDING_CURL = """\
curl() {
  case "$*" in
    *"$APP_ADDRESS"*) command curl --dump-header "$RESPONSES/$EPOCHREALTIME" "$@" ;;
    *) command curl "$@" ;;
  esac
}
"""


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE)


def commands(script: str) -> list[str]:
    """The script's commands, each with its continuation lines joined."""
    return re.sub(r"\\\n", " ", script).splitlines()


def expected_statuses(script: str) -> list[int]:
    """The status the comment after each request to the app promises (`curl ...    # 201`)."""
    statuses = []
    for command in commands(script):
        if "curl " in command and APP_ADDRESS in command:
            promised = re.search(r"#\s*(\d{3})\b[^#]*$", command)
            assert promised is not None, f"no status after the request: {command}"
            statuses.append(int(promised.group(1)))
    return statuses


@each_combination
def test_the_generated_readme_runs_as_written(baked: Baked, tmp_path: Path) -> None:
    """The README's setup commands, and its walk-through pasted into bash.

    Setup: the first block is `make run` and `make test`; `serving` starts the project with
    that `make run`, and the generated-suite test runs `make test`. The walk-through (sign-up,
    login, refresh, logout, profile, email verification, password change and reset, account
    deletion, a superuser's list) runs in one bash with `set -euo pipefail`, exactly as
    written but for the ports: the app's and Mailpit's are the test's own. Mailpit is the
    test's SMTP server (aiosmtpd) with the one call of Mailpit's API that `mail_token` makes.
    Every command exits 0, and every request to the app answers with the status its comment
    says, in order.
    """
    readme = (baked.path / "README.md").read_text(encoding="utf-8")
    setup, *_ = bash_blocks(readme)
    assert [line.split("#")[0].strip() for line in setup.strip().splitlines()] == [
        "make run",
        "make test",
    ]
    start, end = (readme.index(heading) for heading in WALK_THROUGH)
    walk_through = "".join(bash_blocks(readme[start:end]))
    expected = expected_statuses(walk_through)
    assert len(expected) >= 15

    responses = tmp_path / "responses"
    responses.mkdir()
    with (
        mailpit() as (smtp_port, api_port),
        serving(baked, tmp_path, env=smtp_env(smtp_port)) as served,
    ):
        app_address = f"localhost:{served.url.rsplit(':', 1)[1]}"
        script = walk_through.replace(APP_ADDRESS, app_address).replace(
            MAILPIT_ADDRESS, f"localhost:{api_port}"
        )
        result = baked.run(
            "bash",
            "-c",
            f"set -euo pipefail\n{RECORDING_CURL}{script}",
            check=False,
            env={
                "APP_ADDRESS": app_address,
                "RESPONSES": str(responses),
                "DATABASE_URL": served.database_url,
            },
        )

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    answered = [
        int(path.read_text().split()[1])
        for path in sorted(responses.iterdir(), key=lambda path: float(path.name))
    ]
    assert answered == expected, result.stdout
