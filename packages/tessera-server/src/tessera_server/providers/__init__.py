"""Providers: embedder, reranker, LLM and vision model, each behind a small interface."""
