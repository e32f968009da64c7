"""`python -m scaffold NAME "FIELD:TYPE ..." [--public] [--plural PLURAL]`: `make resource`."""

import argparse
import sys

from scaffold.resource import FIELD_TYPES, ScaffoldError, scaffold


def main(argv: list[str] | None = None) -> int:
    """Scaffold the resource the arguments describe; a bad argument ends with one line."""
    parser = argparse.ArgumentParser(
        prog="make resource",
        description="Scaffold a resource: model, schemas, repository, routes, migration, tests.",
    )
    parser.add_argument("name", help="the model's class name, in CamelCase: Note, InvoiceLine")
    parser.add_argument(
        "fields",
        help=(
            f"NAME:TYPE ..., TYPE one of {', '.join(FIELD_TYPES)}; TYPE? is optional, TYPE! unique"
        ),
    )
    parser.add_argument(
        "--public",
        action="store_true",
        help="every logged-in user may read it, only superusers may write it",
    )
    parser.add_argument("--plural", help="the plural, when adding an s is wrong: people")
    arguments = parser.parse_args(argv)
    try:
        written = scaffold(
            arguments.name, arguments.fields, public=arguments.public, plural=arguments.plural
        )
    except ScaffoldError as error:
        print(f"make resource: {error}", file=sys.stderr)  # noqa: T201
        return 2
    for path in written:
        print(f"  {path}")  # noqa: T201
    print("Next: make db-upgrade, make test, and commit what is listed above.")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
