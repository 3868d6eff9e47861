"""Allow ``python -m gsmgw``."""

from gsmgw.cli import main

raise SystemExit(main())
