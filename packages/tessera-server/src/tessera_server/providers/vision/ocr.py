"""Reading the text in an image offline, with the PP-OCR models bundled in `rapidocr`.

The `rapidocr` wheel ships its default detection, orientation and recognition models
(ONNX, run by the onnxruntime the service already uses); they are passed by path, so
nothing is ever downloaded at run time — a missing model file is an error at load, not a
fetch. The engine loads lazily (about 2 s) on the first image and is shared afterwards;
one image at a time, since onnxruntime already spreads one image over the cores.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

log = logging.getLogger("tessera.ocr")


class OCRError(Exception):
    """The text reader could not run."""


class TextReader(Protocol):
    def read(self, image: Image.Image) -> list[str]:
        """The lines of text found in `image`, top to bottom."""
        ...


# The model files inside the rapidocr 3.10 wheel (PP-OCRv6 small det/rec, mobile cls).
_MODELS = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def bundled_model_paths() -> dict[str, Path]:
    """Where the bundled models are; raises OCRError when the package or a file is missing."""
    try:
        import rapidocr
    except ImportError as exc:
        raise OCRError("the rapidocr package is not installed") from exc
    root = Path(rapidocr.__file__).parent / "models"
    paths = {key: root / name for key, name in _MODELS.items()}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise OCRError(f"bundled OCR model files are missing: {', '.join(missing)}")
    return paths


class BundledTextReader:
    """PP-OCR through rapidocr on onnxruntime, models from the wheel only."""

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        from rapidocr import RapidOCR

        params: dict[str, Any] = {key: str(p) for key, p in bundled_model_paths().items()}
        params.update(
            {
                "Global.log_level": "error",
                # Screenshots and documents are upright: skipping the orientation pass
                # saves a third of the time on text-heavy images.
                "Global.use_cls": False,
                # Detect at the image's own scale (up to 2000 px a side): the default scales
                # small images up to 736 px on their short side, which on rendered
                # screenshots found no more words but took 2.4x the CPU time.
                "Det.limit_type": "max",
                "Det.limit_side_len": 2000,
                "EngineConfig.onnxruntime.intra_op_num_threads": self._threads or -1,
            }
        )
        return RapidOCR(params=params)

    def read(self, image: Image.Image) -> list[str]:
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
                log.info("OCR models loaded")
            try:
                result = self._engine(image.convert("RGB"))
            except Exception as exc:
                raise OCRError(f"{type(exc).__name__} while reading text") from exc
        texts = getattr(result, "txts", None) or ()
        return [t.strip() for t in texts if isinstance(t, str) and t.strip()]
