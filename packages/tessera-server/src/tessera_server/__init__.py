"""Tessera: long-term memory for LLM agents, as a self-hosted HTTP service."""

__version__ = "0.2.0"
