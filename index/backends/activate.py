"""List the kept index versions, or point every replica at one of them (rollback), for the configured backend.

    python -m index.backends.activate            # versions, newest first; * marks the live one
    python -m index.backends.activate VERSION    # switch to VERSION (loaded and verified first)
"""

from __future__ import annotations

import sys

from core.config import Settings
from core.errors import ArticleQAError
from index.backends import backend_for


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    backend = backend_for(Settings())
    try:
        if args:
            backend.activate(args[0])
            print(f"{backend.describe()}: now serving {args[0]}")
            return 0
        current = backend.current_version()
        for version in backend.list_versions():
            print(("* " if version == current else "  ") + version)
    except ArticleQAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
