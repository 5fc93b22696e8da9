"""What the engine runs with: settings, the store and the providers."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import Settings
from ..providers.embedder import Embedder
from ..providers.llm import ChatModel
from ..providers.reranker import Reranker
from ..providers.vision import Captioner
from ..providers.vision.ocr import TextReader
from ..store import Store
from .extract import Extractor


@dataclass
class Runtime:
    settings: Settings
    store: Store
    embedder: Embedder
    extractor: Extractor
    reranker: Reranker
    llm: ChatModel | None
    captioner: Captioner | None
    reader: TextReader | None = None  # offline OCR for images when no captioner is set

    @property
    def extractor_label(self) -> str:
        """What reads facts out of turns, as `/health` and `serve` name it (no credentials)."""
        if self.llm is None or not self.settings.llm_base_url:
            return "offline"
        host = urlsplit(self.settings.llm_base_url).hostname or "?"
        port = urlsplit(self.settings.llm_base_url).port
        where = f"{host}:{port}" if port else host
        return f"llm {self.llm.model or '(default model)'} at {where}"
