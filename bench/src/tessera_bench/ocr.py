"""OCR of uploaded images: time per image and words read, on this machine.

Renders screenshots (code, error messages, documents; four fonts shipped in packages, four
text sizes, light and dark), then runs the service's own steps on each: `open_image` (what
an upload costs at once: decode, size, colours, EXIF — the baseline) and the bundled OCR
(`BundledTextReader`, what the job worker does). Reports the model load time, wall and CPU
milliseconds per image, and word recall: the share of the rendered words (3+ letters) that
the OCR text contains, which is what a search for them needs.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import resource
import statistics
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib
from PIL import Image, ImageDraw, ImageFont

from . import paths
from .report import run_header, write_result

_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS: dict[str, Path | None] = {
    "pillow-default": None,
    "dejavu-mono": _FONT_DIR / "DejaVuSansMono.ttf",
    "dejavu-sans": _FONT_DIR / "DejaVuSans.ttf",
    "dejavu-serif": _FONT_DIR / "DejaVuSerif.ttf",
}
SIZES = (11, 14, 20, 32)
TEXTS = {
    "code": (
        "def consolidate_episodes(scope, turns):",
        "    budget = settings.max_tokens",
        "    for turn in sorted(turns, key=lambda t: t.time):",
        "        segment.append(normalize(turn.content))",
        "    return merge_segments(segment, budget)",
    ),
    "error": (
        "Traceback (most recent call last):",
        '  File "worker.py", line 42, in run_job',
        "    raise ConnectionRefusedError(host)",
        "ConnectionRefusedError: postgres refused connection",
        "Process exited with status 137 OutOfMemory",
    ),
    "document": (
        "Quarterly planning notes for the Lisbon office",
        "The migration to PostgreSQL finishes in March.",
        "Invoices above 5000 euros need two approvals.",
        "Contact Dana about the marine survey budget.",
    ),
}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")


@dataclass(frozen=True)
class Sample:
    kind: str
    font: str
    size: int
    dark: bool
    png: bytes
    screen: bool = False

    @property
    def name(self) -> str:
        suffix = ("-dark" if self.dark else "") + ("-1920x1080" if self.screen else "")
        return f"{self.kind}-{self.font}-{self.size}{suffix}"


def render(lines: tuple[str, ...], font: str, size: int, dark: bool, screen: bool = False) -> bytes:
    """The lines on a tight canvas, or (`screen`) in the corner of a 1920x1080 screen."""
    path = FONTS[font]
    face = ImageFont.load_default(size) if path is None else ImageFont.truetype(str(path), size)
    pad, line_height = size, int(size * 1.5)
    width = max(int(face.getlength(line)) for line in lines) + 2 * pad
    colours = ((30, 30, 30), (225, 225, 225)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = (1920, 1080) if screen else (width, line_height * len(lines) + 2 * pad)
    image = Image.new("RGB", canvas, colours[0])
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * line_height), line, font=face, fill=colours[1])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def samples() -> list[Sample]:
    tight = [
        Sample(kind, font, size, dark, render(lines, font, size, dark))
        for kind, lines in TEXTS.items()
        for font in FONTS
        for size in SIZES
        for dark in ((False, True) if kind == "code" else (False,))
    ]
    # Full-screen captures: the same text at 14 px on a 1920x1080 screen.
    screens = [
        Sample(kind, "dejavu-sans", 14, False, render(lines, "dejavu-sans", 14, False, True), True)
        for kind, lines in TEXTS.items()
    ]
    return tight + screens


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": _ms(statistics.median(ordered)),
        "mean_ms": _ms(statistics.fmean(ordered)),
        "p90_ms": _ms(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]),
        "max_ms": _ms(ordered[-1]),
    }


def run(args: argparse.Namespace) -> int:
    from tessera_server.providers.vision.image import open_image
    from tessera_server.providers.vision.ocr import BundledTextReader

    out_dir: Path = args.out or paths.default_results_dir()
    name: str = args.name or "ocr"
    load_before = os.getloadavg()
    shots = samples()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    reader = BundledTextReader(threads=args.threads)
    blank = Image.new("RGB", (64, 32), (255, 255, 255))
    start = time.perf_counter()
    reader.read(blank)  # loads the models
    load_s = time.perf_counter() - start
    rows: list[dict[str, Any]] = []
    for shot in shots:
        t0 = time.perf_counter()
        image, facts = open_image(shot.png, 50_000_000)
        t1, c1 = time.perf_counter(), time.process_time()
        lines = reader.read(image)
        t2, c2 = time.perf_counter(), time.process_time()
        truth = words("\n".join(TEXTS[shot.kind]))
        found = len(truth & words("\n".join(lines)))
        rows.append(
            {
                "image": shot.name,
                "kind": shot.kind,
                "font": shot.font,
                "size": shot.size,
                "pixels": f"{facts.width}x{facts.height}",
                "inspect_ms": _ms(t1 - t0),
                "ocr_ms": _ms(t2 - t1),
                "ocr_cpu_ms": _ms(c2 - c1),
                "word_recall": round(found / len(truth), 3),
            }
        )
    total_truth = sum(len(words("\n".join(TEXTS[s.kind]))) for s in shots)
    total_found = sum(r["word_recall"] * len(words("\n".join(TEXTS[r["kind"]]))) for r in rows)
    by_size = {
        str(size): round(statistics.fmean(r["word_recall"] for r in rows if r["size"] == size), 3)
        for size in SIZES
    }
    screens = [r for r in rows if r["image"].endswith("-1920x1080")]
    doc: dict[str, Any] = {
        **run_header(name, load_before),
        "ocr": {
            "engine": f"rapidocr {version('rapidocr')}, PP-OCRv6 small det/rec (bundled), "
            f"onnxruntime {version('onnxruntime')}",
            "threads": args.threads or "onnxruntime default (all cores)",
            "images": len(rows),
            "model_load_s": round(load_s, 2),
            "peak_rss_mb_before_load": round(rss_before),
            "peak_rss_mb_after_all_images": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            ),
            "per_image": _summary([r["ocr_ms"] / 1000 for r in rows]),
            "per_image_cpu": _summary([r["ocr_cpu_ms"] / 1000 for r in rows]),
            "word_recall": round(total_found / total_truth, 3),
            "word_recall_by_text_px": by_size,
            "word_recall_1920x1080": round(statistics.fmean(r["word_recall"] for r in screens), 3),
            "per_image_cpu_1920x1080": _summary([r["ocr_cpu_ms"] / 1000 for r in screens]),
        },
        "baseline_inspect": _summary([r["inspect_ms"] / 1000 for r in rows]),
        "images": rows,
    }
    print(write_result(out_dir, doc, markdown))
    return 0


def markdown(doc: dict[str, Any]) -> str:
    ocr, base, m = doc["ocr"], doc["baseline_inspect"], doc["machine"]
    lines = [
        f"# OCR of uploaded images ({doc['name']})",
        "",
        f"`{doc['command']}` on {m['cpu']}, {m['cores']} cores; load average "
        f"{doc['load_average_at_start'][0]} at start, {doc['load_average_at_end'][0]} at end "
        "(other work on the machine slows the wall times; CPU times are less affected).",
        "",
        f"{ocr['images']} rendered screenshots (code, error messages, documents; 4 fonts, "
        f"text 11-32 px; three of them 1920x1080 screens with 14 px text). Engine: {ocr['engine']}; threads: {ocr['threads']}. "
        f"Model load: {ocr['model_load_s']} s (once per process, on the first image). "
        f"Peak memory of the process: {ocr['peak_rss_mb_before_load']} MB before the models, "
        f"{ocr['peak_rss_mb_after_all_images']} MB after all images.",
        "",
        "| step | median ms | mean ms | p90 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, s in (
        ("upload: decode, size, colours, EXIF (baseline, in the request)", base),
        ("OCR per image, wall (job worker)", ocr["per_image"]),
        ("OCR per image, CPU of this process", ocr["per_image_cpu"]),
    ):
        lines.append(
            f"| {label} | {s['median_ms']} | {s['mean_ms']} | {s['p90_ms']} | {s['max_ms']} |"
        )
    lines += [
        "",
        f"Word recall (rendered words of 3+ letters found in the OCR text): "
        f"**{ocr['word_recall']}** overall; by text height: "
        + ", ".join(f"{px} px {r}" for px, r in ocr["word_recall_by_text_px"].items())
        + f"; 1920x1080 screens {ocr['word_recall_1920x1080']} "
        + f"(CPU {ocr['per_image_cpu_1920x1080']['median_ms']} ms median).",
        "",
    ]
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = its default)")
