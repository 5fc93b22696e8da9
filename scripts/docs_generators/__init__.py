"""The generators of the documentation site's generated parts, one module each (see
`scripts/docs_reference.py`, which names them)."""
