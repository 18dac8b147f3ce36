"""``python -m gpen_ext``: the command-line tool (see ``gpen_ext.cli``)."""
from .cli import main

raise SystemExit(main())
