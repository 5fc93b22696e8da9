"""``python -m tessera_bench``."""

from .cli import main

raise SystemExit(main())
