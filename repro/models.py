"""Catalogue of every model the paper evaluates.

Revisions are pinned where a source pins them (see docs/models.md for the sources); where
no public source records the revision the paper used, `revision` is None and the commit is
fixed in the run folder's models.lock.json when it is first needed (repro.model_lock).

Stop strings are declared per model, explicitly: the paper's evaluator's list for the
model's prompt template. That evaluator also added Qwen's stop token ids (151645, 151643)
only when the model *path* contained "qwen2", so a folder's name changed stopping; we never
derive stopping from a path. Instead every engine stops at the model's own end-of-sequence
tokens (its generation config's eos_token_id, plus the tokenizer's), and at the stop strings
(docs/models.md, "Stopping"). `stop_strings` is what a run should pass to the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from repro.errors import ReproError, UnknownNameError

# Stop strings of the paper's evaluator, by prompt template (LeapLabTHU/limit-of-RLVR at
# fd2cf37f05cc7dced9c558fa358a18e0497cb463, math/examples/math_eval/math_eval.py, `stop_words`):
# three end markers for every template, then the template family's own, in its order.
_BASE_STOPS = ("</s>", "<|im_end|>", "<|endoftext|>")
# "qwen" prompt types (qwen-boxed, qwen25-math-cot). Any "user"/"assistant" in the text stops
# generation: that is how a base model's imitation of a next chat turn gets cut.
QWEN_BOXED_STOPS = _BASE_STOPS + ("assistant", "user", "_end", "_start")
# "abel" = the DAPO prompt. "Answer:" is exactly where DAPO writes its final answer, so the
# paper's runs stopped before it; DAPO_STOPS_KEEP_ANSWER lets the line through.
DAPO_STOPS = _BASE_STOPS + ("Question:", "Answer:")
DAPO_STOPS_KEEP_ANSWER = _BASE_STOPS + ("Question:",)
# "deepseek" prompt types (deepseek-r1, and r1-zero here). The evaluator's list repeats
# "</s>" at its end; the repeat changes nothing and is left out.
R1_STOPS = _BASE_STOPS + ("\nProblem", "User:", "Assistant:", "</answer>")


@dataclass(frozen=True)
class Model:
    key: str
    hf_id: str
    revision: str | None  # None: locked at first use in the run folder (repro.model_lock)
    context_length: int  # the model's max_position_embeddings
    template: str  # prompt template name (repro.prompts)
    stop: tuple[str, ...]  # the paper's behaviour
    tensor_parallel_size: int = 1
    released: bool = True  # False: must be trained first (training configs, later issue)
    note: str = ""
    # The stop list when a run keeps DAPO's "Answer:" line (stop_strings); None: no such option.
    stop_keep_answer: tuple[str, ...] | None = None
    # True: declared by a user for one command (`repro pair`), not a model of the paper.
    declared: bool = False

    @property
    def size_b(self) -> float:
        """Rough size in billions of parameters, from the id (for planning only)."""
        for token in self.hf_id.replace("-", " ").replace("_", " ").split():
            if token.lower().endswith("b") and token[:-1].replace(".", "").isdigit():
                return float(token[:-1])
        return 7.0


MODELS: dict[str, Model] = {
    m.key: m
    for m in (
        # --- A: SimpleRL-Zoo pairs (qwen-boxed prompt for models and bases, official README)
        Model("qwen2.5-7b", "Qwen/Qwen2.5-7B", "d149729398750b98c0af14eb82c78cfe92750796", 131072,
           "qwen-boxed", QWEN_BOXED_STOPS, note="revision used by third-party reproductions"),
        Model("simplerl-zoo-qwen2.5-7b", "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo",
           "d630142f26acc8adf8051298cba8023232169d56", 131072, "qwen-boxed", QWEN_BOXED_STOPS),
        Model("qwen2.5-14b", "Qwen/Qwen2.5-14B", None, 131072, "qwen-boxed", QWEN_BOXED_STOPS),
        Model("simplerl-zoo-qwen2.5-14b", "hkust-nlp/Qwen-2.5-14B-SimpleRL-Zoo", None, 131072,
           "qwen-boxed", QWEN_BOXED_STOPS),
        Model("qwen2.5-32b", "Qwen/Qwen2.5-32B", None, 131072, "qwen-boxed", QWEN_BOXED_STOPS,
           tensor_parallel_size=4),
        Model("simplerl-zoo-qwen2.5-32b", "hkust-nlp/Qwen-2.5-32B-SimpleRL-Zoo", None, 131072,
           "qwen-boxed", QWEN_BOXED_STOPS, tensor_parallel_size=4),
        # LLaMA: qwen-boxed as raw text too (paper Fig 21, official README); docs/models.md.
        Model("llama3.1-8b", "meta-llama/Llama-3.1-8B", None, 131072, "qwen-boxed", QWEN_BOXED_STOPS,
           note="gated on the hub; template choice documented in docs/models.md"),
        Model("simplerl-zoo-llama3.1-8b", "hkust-nlp/Llama-3.1-8B-SimpleRL-Zoo", None, 131072,
           "qwen-boxed", QWEN_BOXED_STOPS),
        # --- Oat-Zero and Fig 7 (Qwen2.5-Math-7B family has a 4,096-token context)
        Model("qwen2.5-math-7b", "Qwen/Qwen2.5-Math-7B", None, 4096, "qwen-boxed", QWEN_BOXED_STOPS),
        Model("oat-zero-7b", "sail/Qwen2.5-Math-7B-Oat-Zero", None, 4096, "qwen-boxed", QWEN_BOXED_STOPS),
        # Fig 7's instruct and distilled models: the paper names no prompt; they get the prompt
        # of the panel's other two models, so the four curves differ by model only (docs/models.md).
        Model("qwen2.5-math-7b-instruct", "Qwen/Qwen2.5-Math-7B-Instruct", None, 4096, "qwen-boxed",
           QWEN_BOXED_STOPS, note="template: the package's choice (the paper names none); docs/models.md"),
        Model("r1-distill-qwen-7b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", None, 131072,
           "qwen-boxed", QWEN_BOXED_STOPS,
           note="template: the package's choice (the paper names none); docs/models.md"),
        # --- DAPO (old prompt and weights, pinned by the official README)
        Model("dapo-qwen-32b", "BytedTsinghua-SIA/DAPO-Qwen-32B",
           "38b8075427d3f7d12075377d1e40495875066189", 131072, "dapo", DAPO_STOPS,
           tensor_parallel_size=4, stop_keep_answer=DAPO_STOPS_KEEP_ANSWER),
        Model("qwen2.5-32b-dapo-prompt", "Qwen/Qwen2.5-32B", None, 131072, "dapo", DAPO_STOPS,
           tensor_parallel_size=4, note="the base of DAPO, evaluated with DAPO's prompt",
           stop_keep_answer=DAPO_STOPS_KEEP_ANSWER),
        # --- B: code
        Model("qwen2.5-7b-instruct-1m", "Qwen/Qwen2.5-7B-Instruct-1M", None, 1010000, "lcb-codeqwen",
           _BASE_STOPS),
        Model("coder1-zero-7b", "ganler/CodeR1-Zero-Qwen2.5-7B-12k-832", None, 32768, "lcb-codeqwen",
           _BASE_STOPS),
        Model("r1-distill-qwen-14b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", None, 131072,
           "deepcoder", _BASE_STOPS),
        Model("deepcoder-14b", "agentica-org/DeepCoder-14B-Preview", None, 131072, "deepcoder",
           _BASE_STOPS),
        # --- C: visual
        Model("qwen2.5-vl-7b-instruct", "Qwen/Qwen2.5-VL-7B-Instruct", None, 128000, "visual-r1",
           _BASE_STOPS),
        Model("qwen2.5-vl-7b-easyr1", "(trained locally: EasyR1 GRPO on Geometry3K)", None, 128000,
           "visual-r1", _BASE_STOPS, released=False,
           note="never released; must be trained (visual-easyr1-train)"),
        # --- E: VeRL runs on Omni-MATH-Rule (never released; trained from Qwen2.5-7B)
        *(
            Model(f"verl-{name}", f"(trained locally: VeRL {label} on Omni-MATH-Rule train)", None,
               131072, "r1-zero", R1_STOPS, released=False)
            for name, label in (
                ("grpo-step150", "GRPO, step 150"),
                ("grpo-step300", "GRPO, step 300"),
                ("grpo-step450", "GRPO, step 450"),
                ("ppo", "PPO, 450 steps"),
                ("reinforce-pp", "Reinforce++, 450 steps"),
                ("rloo", "RLOO, 450 steps"),
                ("remax", "ReMax, 450 steps"),
                ("dapo", "DAPO, 450 steps"),
                ("grpo-kl0.001", "GRPO with KL 0.001, 450 steps"),
                ("grpo-n32", "GRPO with 32 rollouts, 220 steps"),
            )
        ),
        Model("qwen2.5-7b-r1-prompt", "Qwen/Qwen2.5-7B", "d149729398750b98c0af14eb82c78cfe92750796",
           131072, "r1-zero", R1_STOPS, note="the base of the VeRL runs, with their prompt"),
    )
}


def stop_strings(model: Model, keep_dapo_answer: bool) -> tuple[str, ...]:
    """The stop strings a run of `model` passes to its engine.

    `keep_dapo_answer=False` is the paper's behaviour (its evaluator stops DAPO-prompted
    runs at "Answer:", before the answer line). True drops that one stop string for the
    models that have the option (those on the DAPO prompt), so their answer line survives;
    it changes nothing for any other model. The default a run should use is
    `repro.experiments.registry.KEEP_DAPO_ANSWER`. The stop list is part of the sampling
    parameters, hence of the store key: samples of the two behaviours are never mixed.
    """
    if keep_dapo_answer and model.stop_keep_answer is not None:
        return model.stop_keep_answer
    return model.stop


@contextmanager
def declared_models(models: Iterable[Model]) -> Iterator[None]:
    """Models a user declared for one command (`repro pair`: hub ids and local folders the
    paper never saw), known to `get_model` while the block runs, so that the plan, the
    pipeline and the report treat them as they treat the catalogue's. A key the catalogue
    already holds must declare the same model."""
    added = []
    try:
        for model in models:
            known = MODELS.get(model.key)
            if known is not None and known != model:
                raise ReproError(f"model key {model.key!r} is already a different model of the catalogue")
            if known is None:
                MODELS[model.key] = model
                added.append(model.key)
        yield
    finally:
        for key in added:
            MODELS.pop(key, None)


def get_model(key: str) -> Model:
    try:
        return MODELS[key]
    except KeyError:
        raise UnknownNameError(f"unknown model {key!r}; see `repro list --models`") from None
