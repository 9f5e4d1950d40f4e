"""A tiny random-weight Qwen2.5-VL model with its processor, built locally (smoke tier).

The visual experiment's models (Qwen2.5-VL-7B-Instruct and its EasyR1 GRPO model) cannot be
downloaded on these machines; this builder makes a model of the same architecture that
transformers' Qwen2.5-VL classes, its processor and qwen-vl-utils take exactly like the real
one: the text part of the tiny text models (hidden 128, 2 layers, head_dim 32) with Qwen2.5-VL's
multimodal rotary sections [4, 6, 6] (which sum to head_dim / 2), and a vision tower of depth 2,
hidden 64, 2 heads, patch 14, merge 2. Images are bounded to 4-64 tokens of 28 x 28 pixels
(3,136-50,176 pixels), so a 112 x 84 image costs 12 vision tokens.

The tokenizer is the tiny text models' byte-level BPE with Qwen2.5-VL's vision tokens added
(`<|vision_start|>`, `<|vision_end|>`, `<|image_pad|>`, `<|video_pad|>`); the model config
names their ids. Needs the vision environment (torchvision; docs/engines.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from repro.errors import UnknownNameError
from repro.sampling import tiny_models

BUILDER_VERSION = 1
TINY_VL_MODEL_SEEDS: dict[str, int] = {"tiny-vl-base": 0, "tiny-vl-rl": 1}
VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 64 * 28 * 28


def _marker_content(seed: int) -> str:
    return json.dumps({"builder_version": BUILDER_VERSION, "kind": "qwen2.5-vl", "seed": seed}, sort_keys=True)


def _build_into(directory: Path, seed: int) -> None:
    import torch
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tiny_models._train_tokenizer(tiny_models.SPECIAL_TOKENS + VISION_TOKENS),
        eos_token=tiny_models.EOS_TOKEN, pad_token=tiny_models.EOS_TOKEN,
        model_max_length=tiny_models.MAX_POSITION_EMBEDDINGS, chat_template=tiny_models.CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in tiny_models.SPECIAL_TOKENS + VISION_TOKENS}
    eos_id, chat_end_id = ids[tiny_models.EOS_TOKEN], ids[tiny_models.CHAT_END_TOKEN]
    image_processor = Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, patch_size=14,
                                            merge_size=2, temporal_patch_size=2)
    video_processor = Qwen2VLVideoProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, patch_size=14,
                                            merge_size=2, temporal_patch_size=2)
    processor = Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                    video_processor=video_processor, chat_template=tiny_models.CHATML_TEMPLATE)
    processor.save_pretrained(directory)
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": len(tokenizer), "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": tiny_models.MAX_POSITION_EMBEDDINGS,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [4, 6, 6]},
            "bos_token_id": eos_id, "eos_token_id": eos_id, "pad_token_id": eos_id, "use_sliding_window": False,
        },
        vision_config={
            "depth": 2, "hidden_size": 64, "intermediate_size": 128, "num_heads": 2, "patch_size": 14,
            "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112, "out_hidden_size": 128,
            "fullatt_block_indexes": [1],
        },
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True, dtype="float32",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(bos_token_id=eos_id, eos_token_id=[eos_id, chat_end_id],
                                               pad_token_id=eos_id)
    model.save_pretrained(directory, safe_serialization=True)


def build_tiny_vl_model(directory: Path, seed: int = 0) -> Path:
    """Build (or reuse) a tiny random Qwen2.5-VL model with its processor in `directory`."""
    return tiny_models.build_once(directory, _marker_content(seed), lambda staging: _build_into(staging, seed))


def tiny_vl_model_path(name: str, cache_dir: Path) -> Path:
    if name not in TINY_VL_MODEL_SEEDS:
        raise UnknownNameError(f"unknown tiny vision model {name!r}; choose one of: {', '.join(TINY_VL_MODEL_SEEDS)}")
    return build_tiny_vl_model(Path(cache_dir) / name, seed=TINY_VL_MODEL_SEEDS[name])
