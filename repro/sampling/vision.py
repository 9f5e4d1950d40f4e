"""Images of Qwen2.5-VL prompts, prepared the same way for both engines.

Qwen's own helper, qwen-vl-utils (`process_vision_info`), loads each image and resizes it
so that both sides are multiples of 28 (patch 14 x merge 2) and its pixel count lies within
the model's bounds (`min_pixels`, `max_pixels` of the model's preprocessor config). The
resized images then go to the engine:

- vLLM: as multi-modal data beside the raw prompt text (`vllm_inputs`); vLLM's Qwen2.5-VL
  processor expands the prompt's one `<|image_pad|>` into the image's vision tokens;
- transformers: through the model's processor (`repro.sampling.hf_backend.HfVisionBackend`),
  which does the same expansion.

Images that already satisfy the bounds and the factor of 28 are not resized again by
either engine, so both see the same pixels.

qwen-vl-utils imports torchvision when it is imported; on machines where torchvision cannot
load (the CPU install, beside vLLM's CPU torch), this module still imports and says so when
images are asked for (docs/engines.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.errors import EnvironmentNotSupportedError, ReproError
from repro.sampling.base import Request

# Qwen2.5-VL's defaults (its preprocessor_config.json): 4 and 16,384 tokens of 28 x 28 pixels.
DEFAULT_MIN_PIXELS = 4 * 28 * 28
DEFAULT_MAX_PIXELS = 16384 * 28 * 28


def pixel_bounds(model_path: str) -> tuple[int, int]:
    """(min_pixels, max_pixels) of a local model's image processor (preprocessor_config.json,
    as the released checkpoints ship it, or the "image_processor" part of processor_config.json,
    as newer transformers save it); Qwen2.5-VL's defaults otherwise."""
    config = None
    for name, part in (("preprocessor_config.json", None), ("processor_config.json", "image_processor")):
        path = Path(model_path) / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            config = data.get(part) if part else data
            if config:
                break
    if not config:
        return DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS
    size = config.get("size") or {}
    low = config.get("min_pixels") or size.get("shortest_edge") or DEFAULT_MIN_PIXELS
    high = config.get("max_pixels") or size.get("longest_edge") or DEFAULT_MAX_PIXELS
    return int(low), int(high)


def process_vision_info_or_explain():
    try:
        from qwen_vl_utils import process_vision_info
    except (ImportError, RuntimeError) as error:  # RuntimeError: a torchvision that cannot load
        raise EnvironmentNotSupportedError(
            f"images need qwen-vl-utils and a working torchvision ({type(error).__name__}: {error}); on CPU "
            "install the vision environment with `bash scripts/install-visual` (docs/engines.md)"
        ) from None
    return process_vision_info


def load_images(paths: tuple[str, ...], min_pixels: int, max_pixels: int) -> list[Any]:
    """The images of one prompt as PIL images, resized by qwen-vl-utils within the bounds."""
    for path in paths:
        if not Path(path).is_file():
            raise ReproError(f"image {path} does not exist (load the benchmark again)")
    content = [{"type": "image", "image": Path(path).resolve().as_uri(), "min_pixels": min_pixels,
                "max_pixels": max_pixels} for path in paths]
    images, _videos = process_vision_info_or_explain()([{"role": "user", "content": content}])
    return list(images or [])


def check_placeholders(request: Request) -> None:
    from repro.prompts import IMAGE_PLACEHOLDER

    found = request.prompt.count(IMAGE_PLACEHOLDER)
    if found != len(request.images):
        raise ReproError(f"{request.problem_id}: the prompt has {found} image placeholders for "
                         f"{len(request.images)} images")


def vllm_inputs(request: Request, min_pixels: int, max_pixels: int) -> str | dict[str, Any]:
    """What `vllm.LLM.generate` takes for one request: the prompt text alone, or with its
    images as multi-modal data (one image: the image itself, as vLLM's examples pass it)."""
    if not request.images:
        return request.prompt
    check_placeholders(request)
    images = load_images(request.images, min_pixels, max_pixels)
    return {"prompt": request.prompt, "multi_modal_data": {"image": images[0] if len(images) == 1 else images}}
