"""tessera-bench: retrieval quality and latency of the Tessera memory service against baselines."""

__version__ = "0.1.0"
