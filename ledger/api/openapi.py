"""The API's OpenAPI document, as served at ``/openapi.json`` and checked in as
``docs/openapi.json`` (a test fails when the two differ).

Regenerate after changing a route or a model::

    .venv/bin/python -m ledger.api.openapi docs/openapi.json

It builds the app with its plugins (the ``ledger.api`` entry points) and connects to nothing.
"""

import json
import sys
from pathlib import Path
from typing import Any

from ledger.api.app import create_app


def spec() -> dict[str, Any]:
    return create_app().openapi()


def render() -> str:
    """The document as checked in: indented, keys in the app's order, a final newline."""
    return json.dumps(spec(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if len(argv) > 1:
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
