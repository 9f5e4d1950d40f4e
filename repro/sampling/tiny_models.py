"""Tiny random-weight models in the Hugging Face format, built locally.

The smoke tier and the engine tests need models that the real engines (vLLM, transformers)
load exactly like the paper's checkpoints, but no machine of this project can download
anything from the model hub. These builders make such models from nothing in well under a
second: a Qwen2 text model (the paper's base and RL models are Qwen2.5) with a byte-level
BPE tokenizer carrying Qwen's special tokens and a ChatML chat template.

Shape choices: head_dim 32 because vLLM's CPU attention rejects head_dim 16; fp32 so that
transformers and vLLM agree to about 1e-6 on CPU.

Token choices (as in Qwen2.5 base models): eos_token and pad_token are `<|endoftext|>`;
generation_config.json lists both `<|endoftext|>` and `<|im_end|>` as end-of-sequence ids
(as Qwen2.5 instruct models do), so a chat-formatted answer also ends at `<|im_end|>`. Both
engines read that list: transformers through the generation config, vLLM as extra stop
token ids.

Builds are byte-identical across rebuilds (fixed torch seed, a tokenizer trained on text
generated from a fixed seed, deterministic serialization), so a model directory can be
rebuilt anywhere instead of being shipped. The tokenizer does not depend on the model seed:
"tiny-base" and "tiny-rl" share it, as the paper's base and RL models share theirs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from repro.engine_log import adopt_library_handlers
from repro.errors import UnknownNameError

# Bump when anything below changes the files produced: cached builds with another version
# are rebuilt instead of silently reused.
BUILDER_VERSION = 1

# Written last, after every other file; a directory without it (or with another content)
# is not a usable model.
MARKER_FILE = "repro_tiny_model.json"

# Name -> torch seed of the weights. "tiny-rl" merely differs from "tiny-base"; it stands in
# for an RL-trained model in the smoke tier, it is not trained.
TINY_MODEL_SEEDS: dict[str, int] = {"tiny-base": 0, "tiny-rl": 1}
TINY_MODEL_NAMES: tuple[str, ...] = tuple(TINY_MODEL_SEEDS)

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
EOS_TOKEN = "<|endoftext|>"
CHAT_END_TOKEN = "<|im_end|>"

TOKENIZER_VOCAB_SIZE = 1000
MAX_POSITION_EMBEDDINGS = 4096
_CORPUS_SEED = 20250418  # fixed: the tokenizer must not depend on the model seed
_CORPUS_LINES = 3000

# ChatML, as Qwen2.5 uses (without Qwen's default system prompt, which adds nothing here).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Qwen2's pre-tokenizer split: single digits, letter runs, punctuation runs, whitespace.
_QWEN2_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

_WORDS = (
    "the a an of to and in is it that for on with as are be this by at from or was have "
    "not but what all were when we there can which their if do will each about how up out "
    "them then she many some so these would other into has more her two like him see time "
    "could no make than first been its who now people my made over did down only way find "
    "use may water long little very after words called just where most know get through "
    "back much before go good new write our used me man too any day same right look think "
    "also around another came come work three word must because does part even place well "
    "such here take why things help put years different away again off went old number "
    "answer question problem solution step let us compute find value sum product total "
    "equal equals therefore thus hence since given assume suppose consider integer real "
    "positive negative prime divisible remainder digit digits fraction square root cube "
    "triangle circle area perimeter angle degrees radius length width height probability "
    "expected number ways choose order sequence series term function equation inequality "
    "solve solving simplify factor expand polynomial degree coefficient roots minimum "
    "maximum point line slope intercept vector matrix determinant mod modulo final boxed "
    "reasoning verify check wait recheck correct answer okay alright first second next "
    "finally code python def return print input output list range len for while if else "
    "true false none image shows figure chart"
).split()

_PHRASES = (
    "Let's think step by step.",
    "The final answer is",
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Wait, let me check that again.",
    "So the answer is",
    "Therefore,",
    "We have",
    "Question:",
    "Answer:",
)


def _latex_snippet(rng: random.Random) -> str:
    a, b, c = rng.randint(0, 999), rng.randint(1, 99), rng.randint(0, 9)
    return rng.choice(
        (
            f"\\boxed{{{a}}}",
            f"\\frac{{{a}}}{{{b}}}",
            f"\\dfrac{{{c}}}{{{b}}}",
            f"\\sqrt{{{b}}}",
            f"x^{{{c}}} + {b}x - {a} = 0",
            f"\\left( {a}, {b} \\right)",
            f"{a} \\times {b} = {a * b}",
            f"\\pi r^2 = {a}\\pi",
            f"\\sum_{{i=1}}^{{{b}}} i",
            f"\\boxed{{\\frac{{{c}}}{{{b}}}}}",
            f"$${a} + {b} = {a + b}$$",
            f"\\cdot {c} \\le {b} \\ge {a}",
        )
    )


def _corpus_line(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(4, 14)):
        roll = rng.random()
        if roll < 0.55:
            word = rng.choice(_WORDS)
            parts.append(word.capitalize() if rng.random() < 0.1 else word)
        elif roll < 0.75:
            parts.append(_latex_snippet(rng))
        elif roll < 0.9:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 6))))
        else:
            parts.append(rng.choice(_PHRASES))
    line = " ".join(parts)
    if rng.random() < 0.2:  # some chat-formatted lines, so the markers appear in context
        line = f"<|im_start|>user\n{line}<|im_end|>\n<|im_start|>assistant\n"
    return line


def tokenizer_training_corpus() -> list[str]:
    """Generated text covering digits, LaTeX, English words and chat markers (fixed seed)."""
    rng = random.Random(_CORPUS_SEED)
    return [_corpus_line(rng) for _ in range(_CORPUS_LINES)]


def _train_tokenizer(special_tokens: tuple[str, ...] = SPECIAL_TOKENS):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB_SIZE,
        min_frequency=2,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(tokenizer_training_corpus(), trainer=trainer)
    return tokenizer


def _save_tokenizer(directory: Path):
    from transformers import PreTrainedTokenizerFast

    adopt_library_handlers()  # transformers' messages to the engine log, when routed

    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(),
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        model_max_length=MAX_POSITION_EMBEDDINGS,
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )
    hf_tokenizer.save_pretrained(directory)
    return hf_tokenizer


def _save_model(directory: Path, tokenizer, seed: int) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    adopt_library_handlers()  # transformers' messages to the engine log, when routed

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    chat_end_id = tokenizer.convert_tokens_to_ids(CHAT_END_TOKEN)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # head_dim = 128 / 4 = 32
        max_position_embeddings=MAX_POSITION_EMBEDDINGS,
        tie_word_embeddings=True,
        use_sliding_window=False,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        dtype="float32",
    )
    with torch.random.fork_rng(devices=[]):  # leave the caller's random state alone
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=eos_id, eos_token_id=[eos_id, chat_end_id], pad_token_id=eos_id
    )
    model.save_pretrained(directory, safe_serialization=True)


def _marker_content(seed: int) -> str:
    return json.dumps({"builder_version": BUILDER_VERSION, "kind": "qwen2-text", "seed": seed}, sort_keys=True)


def is_complete(directory: Path, seed: int) -> bool:
    """True when `directory` holds a finished build of this builder version and seed."""
    return has_marker(directory, _marker_content(seed))


def has_marker(directory: Path, marker: str) -> bool:
    """True when `directory` holds a finished build whose marker file says `marker`."""
    path = Path(directory) / MARKER_FILE
    return path.is_file() and path.read_text() == marker


def _make_readable_by_all(directory: Path) -> None:
    # mkdtemp creates mode 0700; a model cache may be shared, so use the umask like mkdir.
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)


def _install(staging: Path, directory: Path, marker: str) -> None:
    """Move a finished build into place; the rename makes it appear all at once."""
    if directory.exists() and not has_marker(directory, marker):
        shutil.rmtree(directory)  # a stale build (other version or seed), never half-written by us
    try:
        os.rename(staging, directory)
    except OSError:
        # Another process installed the same build first (rename onto a non-empty
        # directory fails); theirs is as good as ours.
        if not has_marker(directory, marker):
            raise


def build_once(directory: Path, marker: str, build: Callable[[Path], None]) -> Path:
    """Reuse `directory` if it holds a finished build with this marker; otherwise run
    `build(staging)` in a folder beside it, write the marker last and move the result into
    place (shared by the tiny text and vision-language builders)."""
    directory = Path(directory)
    if has_marker(directory, marker):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Stage next to the target so the final rename stays on one file system.
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.building-", dir=directory.parent))
    _make_readable_by_all(staging)
    try:
        build(staging)
        (staging / MARKER_FILE).write_text(marker)
        _install(staging, directory, marker)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return directory


def _build_text_model(directory: Path, seed: int) -> None:
    tokenizer = _save_tokenizer(directory)
    _save_model(directory, tokenizer, seed)


def build_tiny_text_model(directory: Path, seed: int = 0) -> Path:
    """Build (or reuse) a tiny random Qwen2 model with its tokenizer in `directory`."""
    return build_once(directory, _marker_content(seed), lambda staging: _build_text_model(staging, seed))


def tiny_model_path(name: str, cache_dir: Path) -> Path:
    """Path of the named tiny model under `cache_dir`, built on first use."""
    if name not in TINY_MODEL_SEEDS:
        raise UnknownNameError(f"unknown tiny model {name!r}; choose one of: {', '.join(TINY_MODEL_NAMES)}")
    return build_tiny_text_model(Path(cache_dir) / name, seed=TINY_MODEL_SEEDS[name])
