"""``python -m tessera_mcp`` behaves like the ``tessera-mcp`` command."""

import sys

from .cli import main

sys.exit(main())
