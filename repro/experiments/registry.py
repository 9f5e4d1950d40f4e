"""Every experiment of the paper, declared once (EXPERIMENTS.md sections A-F).

Expected curves are named exactly as in expected/passk_curves.csv (figure, panel, family,
curve label); n per benchmark follows the paper's App. A.2.
"""

from __future__ import annotations

from repro.lengths import BUDGETS, LengthOverride
from repro.claims import (
    LARGEST,
    AboveEverywhere,
    Crossing,
    Greater,
    HistogramShift,
    NearlySubset,
    Similar,
)
from repro.printed import SOLVED_CATEGORIES, Gap, PassAt, PrintedRef, SmallestGap, SolvedCount
from repro.experiments.spec import (
    Arm,
    CurveRef,
    Experiment,
    HistogramRef,
    Panel,
    SolvedSetRef,
)

# Stopping of DAPO-prompted runs (Figure 10's DAPO panel): the paper's evaluator stops at
# "Answer:", i.e. before the answer line DAPO is trained to write, and grading falls back
# on whatever came earlier (\boxed{}, "the answer is", the last number). False keeps that
# behaviour; True keeps the answer line (repro.models.stop_strings; docs/models.md).
KEEP_DAPO_ANSWER = False

# The Qwen2.5-Math-7B family (Qwen2.5-Math-7B, its Instruct model, Oat-Zero) has a
# 4,096-token context (max_position_embeddings). repro.lengths bounds every run by its model's
# context, so these run with max_model_len 4,096 and the math budget of new tokens, cut by the
# engines to what the context leaves -- as the paper's evaluator at its pinned commit ran them
# (max_model_len=4096, up to 16,000 new tokens). Models with a longer context are not capped.
_QWEN_MATH_NOTE = ("Qwen2.5-Math-7B models have a 4,096-token context: generation stops when prompt plus output "
                   "fill it (as in the paper's evaluator, which capped every model at 4,096), not at the 16,384 "
                   "new tokens the paper states for math")

# DeepCoder's evaluation script sets the engine's length to the response budget plus 2,048
# (Jingchensun/limit-of-RLVR a061b491923fc542fb8f61243b25dac2aa9b3289,
# code/DeepCoder/verl/verl/trainer/main_generation_vllm2.py: max_model_len = 2048 + response_length).
DEEPCODER_LENGTHS = LengthOverride(
    source=("DeepCoder evaluation (limit-of-RLVR a061b49, code/DeepCoder/verl/verl/trainer/"
            "main_generation_vllm2.py): max_model_len = 2,048 + the 32k response length"),
    max_model_len=2048 + BUDGETS["code"].max_new_tokens)

# Figure 2 / Figure 9 panel names, and the benchmark key behind each.
ZOO_PANELS = (
    ("Figure 2", "AIME24", "aime24"),
    ("Figure 2", "MATH500", "math500"),
    ("Figure 2", "Minerva", "minerva"),
    ("Figure 2", "Olympiad", "olympiad"),
    ("Figure 9", "AMC23", "amc23"),
    ("Figure 9", "GSM8K", "gsm8k"),
)
# Figure 13 histogram panel names (same benchmarks).
HISTOGRAM_PANELS = {"aime24": "AIME24", "math500": "MATH500", "minerva": "Minerva",
                    "olympiad": "Olympiad", "amc23": "AMC23", "gsm8k": "GSM8K"}


def _pair_panel(benchmark: str, n: int, figure: str, panel: str, family: str,
                base_label: str = "Base", rl_label: str = "RL", base: str = "base", rl: str = "rl") -> Panel:
    return Panel(benchmark, n, ((base, CurveRef(figure, panel, family, base_label)),
                                (rl, CurveRef(figure, panel, family, rl_label))))


def _pair_experiment(id_: str, title: str, section: str, figures: tuple[str, ...], kind: str, base_model: str,
                     rl_model: str, panels: tuple[Panel, ...], **options) -> Experiment:
    """An experiment of one base model and its RL model, testing claim 1 on every panel."""
    benchmarks = tuple(dict.fromkeys(panel.benchmark for panel in panels))
    return Experiment(id=id_, title=title, section=section, figures=figures, kind=kind,
                      arms=(Arm("base", base_model, "base"), Arm("rl", rl_model, "rl")), panels=panels,
                      claims=(Crossing("base", "rl", benchmarks),), **options)


def _zoo(id_: str, family: str, base_model: str, rl_model: str, n_overrides: dict[str, int]) -> Experiment:
    n_default = {"aime24": 1024, "amc23": 1024}
    panels = tuple(
        _pair_panel(bench, n_overrides.get(bench, n_default.get(bench, 128)), figure, panel, family)
        for figure, panel, bench in ZOO_PANELS
    )
    return _pair_experiment(id_, f"RLVR vs base on math: {family} and its SimpleRL-Zoo model", "A",
                            ("Figure 2", "Figure 9"), "math", base_model, rl_model, panels,
                            printed=_zoo_printed(id_))


ZOO_FAMILIES = (
    ("math-zoo-qwen7b", "Qwen-2.5-7B", "qwen2.5-7b", "simplerl-zoo-qwen2.5-7b", {}),
    ("math-zoo-qwen14b", "Qwen-2.5-14B", "qwen2.5-14b", "simplerl-zoo-qwen2.5-14b", {}),
    ("math-zoo-qwen32b", "Qwen-2.5-32B", "qwen2.5-32b", "simplerl-zoo-qwen2.5-32b", {}),
    # LLaMA: AIME24 and Olympiad at 512 samples (the AIME24 curves end at k = 512).
    ("math-zoo-llama8b", "LLaMA-3.1-8B", "llama3.1-8b", "simplerl-zoo-llama3.1-8b",
     {"aime24": 512, "olympiad": 512}),
)

_STEP_ARMS = (("grpo-step150", "verl-grpo-step150", "GRPO-step150"),
              ("grpo-step300", "verl-grpo-step300", "GRPO-step300"),
              ("grpo-step450", "verl-grpo-step450", "GRPO-step450"))
# Table 2's GRPO row equals Table 3's GRPO-step150 row, and their curves agree to 3e-6
# (Fig 14 top vs Fig 1 / Fig 14 bottom): the algorithm comparison's GRPO is the step-150
# checkpoint. Fig 15's "GRPO (n=8, 450 steps)" is the step-450 one.
_ALGORITHM_ARMS = (("grpo", "verl-grpo-step150", "GRPO"), ("ppo", "verl-ppo", "PPO"),
                   ("remax", "verl-remax", "ReMax"), ("rloo", "verl-rloo", "RLOO"),
                   ("reinforce-pp", "verl-reinforce-pp", "Reinforce++"), ("dapo", "verl-dapo", "DAPO"))
_OMNI_PANELS = (("omni-math-train", "Omni-MATH-Train"),
                ("omni-math-test", "Omni-MATH-Test (In Domain)"),
                ("math500", "MATH500 (Out of Domain)"))
_VERL_BASE = Arm("base", "qwen2.5-7b-r1-prompt", "base")
_NOT_RELEASED = ("the RL checkpoints were never released and must be trained first (training is not "
                 "implemented yet); the smoke tier's simulated and tiny-model runs still exercise the evaluation",)


# Benchmark keys of the labels printed_values.csv uses for Tables 2 and 3.
_PRINTED_OMNI = (("Omni-MATH-Train", "omni-math-train"), ("Omni-MATH-Test", "omni-math-test"),
                 ("MATH500", "math500"))


def _table_refs(source: str, rows: tuple[tuple[str, str], ...]) -> tuple[PrintedRef, ...]:
    """Every pass@1 and pass@256 of a printed table (2 or 3): (table row name, arm)."""
    return tuple(PrintedRef((source, row, label, f"pass@{k}"), PassAt(arm, bench, k), 256)
                 for row, arm in rows for label, bench in _PRINTED_OMNI for k in (1, 256))


def _delta_se(rl_arm: str, benchmark: str) -> Gap:
    """The paper's sampling-efficiency gap: pass@256 of the base minus pass@1 of the RL model."""
    return Gap(PassAt("base", benchmark, 256), PassAt(rl_arm, benchmark, 1))


def _rl_algorithms_printed() -> tuple[PrintedRef, ...]:
    rows = (("Qwen2.5-7B", "base"), *((label, name) for name, _, label in _ALGORITHM_ARMS))
    figure_8 = tuple(
        PrintedRef(("Figure 8", "best RL algorithm", label, "Delta_SE"),
                   SmallestGap(tuple((name, _delta_se(name, bench)) for name, _, _ in _ALGORITHM_ARMS)), 256)
        for label, bench in _PRINTED_OMNI)
    # Section 4.3's text and Table 2 disagree (43.9 / 42.6 printed, 44.0 / 41.0 by the table):
    # scored against the table, the text's number shown beside it.
    text = tuple(
        PrintedRef(("Section 4.3", row, "Omni-MATH-Test", "Delta_SE"), _delta_se(arm, "omni-math-test"), 256,
                   scored_against=(("Table 2", "Qwen2.5-7B", "Omni-MATH-Test", "pass@256"),
                                   ("Table 2", row, "Omni-MATH-Test", "pass@1")))
        for row, arm in (("GRPO", "grpo"), ("RLOO", "rloo")))
    return (*_table_refs("Table 2", rows), *figure_8, *text)


def _rl_steps_printed() -> tuple[PrintedRef, ...]:
    rows = (("Qwen2.5-7B", "base"), *((label, name) for name, _, label in _STEP_ARMS))
    text = tuple(PrintedRef(("Section 4.4", row, "Omni-MATH-Train", "pass@1"), PassAt(arm, "omni-math-train", 1), 256)
                 for row, arm in (("GRPO-step150", "grpo-step150"), ("GRPO-step450", "grpo-step450")))
    return (*_table_refs("Table 3", rows), *text)


def _zoo_printed(experiment_id: str) -> tuple[PrintedRef, ...]:
    """Printed numbers about one SimpleRL-Zoo pair, by experiment."""
    if experiment_id == "math-zoo-qwen32b":
        # Section 3.1: "approximately 9%" on Minerva at k = 128 (in points).
        return (PrintedRef(("Section 3.1", "Qwen2.5-32B base minus SimpleRL-Zoo", "Minerva", "pass@k gap (base - RL)"),
                           Gap(PassAt("base", "minerva", 128), PassAt("rl", "minerva", 128)), 128),)
    if experiment_id != "math-zoo-qwen7b":
        return ()
    refs = []
    # Version 5 of the paper (n = 128), and an independent reproduction with the public checkpoints.
    for source in ("v5", "independent reproduction"):
        refs += [PrintedRef((source, "Qwen2.5-7B", "MATH500", "pass@128"), PassAt("base", "math500", 128), 128),
                 PrintedRef((source, "SimpleRL-Zoo", "MATH500", "pass@128"), PassAt("rl", "math500", 128), 128)]
        refs += [PrintedRef((source, "Qwen2.5-7B vs SimpleRL-Zoo", "MATH500", category),
                            SolvedCount(category, "base", "rl", "math500", 128), 128)
                 for category in SOLVED_CATEGORIES]
    refs += [PrintedRef(("independent reproduction", row, "MATH500", "pass@1"), PassAt(arm, "math500", 1), 128)
             for row, arm in (("Qwen2.5-7B", "base"), ("SimpleRL-Zoo", "rl"))]
    return tuple(refs)


def _rl_algorithms() -> Experiment:
    arms = (_VERL_BASE, *(Arm(name, model, "rl") for name, model, _ in _ALGORITHM_ARMS))
    panels = []
    for figure in ("Figure 14 (top)", "Figure 8"):
        for bench, panel in _OMNI_PANELS:
            curves = [("base", CurveRef(figure, panel, "Qwen2.5-7B", "Qwen2.5-7B"))]
            curves += [(name, CurveRef(figure, panel, "Qwen2.5-7B", label)) for name, _, label in _ALGORITHM_ARMS]
            panels.append(Panel(bench, 256, tuple(curves)))
    claims = tuple(
        Greater(6, "Delta_SE = pass@256(base) - pass@1(RL) stays above 40 points in domain", "base", 256,
                name, 1, "omni-math-test", offset=0.40)
        for name, _, _ in _ALGORITHM_ARMS
    )
    return Experiment(
        id="rl-algorithms", title="Six RL algorithms (VeRL, Omni-MATH-Rule): Delta_SE", section="E",
        figures=("Figure 8", "Figure 14 (top)", "Table 2"), kind="math", arms=arms, panels=tuple(panels),
        printed=_rl_algorithms_printed(), claims=claims, needs=("training",),
        notes=(*_NOT_RELEASED,
               "Table 2's GRPO numbers equal GRPO-step150's (Table 3) to the digit, so GRPO here is the step-150 "
               "checkpoint; the paper says the algorithms ran 450 steps, so which step the other five were "
               "evaluated at is uncertain"),
    )


def _rl_steps() -> Experiment:
    arms = (_VERL_BASE, *(Arm(name, model, "rl") for name, model, _ in _STEP_ARMS))
    panels = [
        Panel("omni-math-train", 256, (("base", CurveRef("Figure 1 (right)", "Omni-MATH-Train", "Qwen2.5-7B", "Qwen2.5-7B")),
                                       *((name, CurveRef("Figure 1 (right)", "Omni-MATH-Train", "Qwen2.5-7B", label))
                                         for name, _, label in _STEP_ARMS)))
    ]
    for bench, panel in _OMNI_PANELS:
        curves = [("base", CurveRef("Figure 14 (bottom)", panel, "Qwen2.5-7B", "Qwen2.5-7B"))]
        curves += [(name, CurveRef("Figure 14 (bottom)", panel, "Qwen2.5-7B", label)) for name, _, label in _STEP_ARMS]
        panels.append(Panel(bench, 256, tuple(curves)))
    text = "along training, train-set pass@1 rises while pass@256 falls"
    claims = (
        Greater(7, text, "grpo-step300", 1, "grpo-step150", 1, "omni-math-train"),
        Greater(7, text, "grpo-step450", 1, "grpo-step300", 1, "omni-math-train"),
        Greater(7, text, "grpo-step150", 256, "grpo-step450", 256, "omni-math-train"),
    )
    return Experiment(
        id="rl-steps", title="GRPO checkpoints at steps 150/300/450", section="E",
        figures=("Figure 1 (right)", "Figure 14 (bottom)", "Table 3"), kind="math", arms=arms,
        panels=tuple(panels), printed=_rl_steps_printed(), claims=claims, needs=("training",), notes=_NOT_RELEASED,
    )


def _rl_kl_rollouts() -> Experiment:
    arms = (_VERL_BASE, Arm("grpo", "verl-grpo-step450", "rl"), Arm("grpo-n32", "verl-grpo-n32", "rl"),
            Arm("grpo-kl", "verl-grpo-kl0.001", "rl"))
    labels = (("base", "Qwen2.5-7B"), ("grpo", "GRPO (n=8, 450 steps)"), ("grpo-n32", "n=32, 220 steps"),
              ("grpo-kl", "+kl=0.001, 450 steps"))
    panels = tuple(
        Panel(bench, 256, tuple((name, CurveRef("Figure 15", panel, "Qwen2.5-7B", label)) for name, label in labels))
        for bench, panel in _OMNI_PANELS
    )
    claims = (
        Similar(8, "KL 0.001 gives similar pass@1 to GRPO", "grpo-kl", "grpo", 1, "omni-math-test", margin=0.02),
        Greater(8, "KL 0.001 gives lower pass@128", "grpo", 128, "grpo-kl", 128, "omni-math-test"),
        Greater(8, "32 rollouts give higher pass@128", "grpo-n32", 128, "grpo", 128, "omni-math-test"),
    )
    return Experiment(
        id="rl-kl-rollouts", title="GRPO with a KL term, and with 32 rollouts", section="E",
        figures=("Figure 15",), kind="math", arms=arms, panels=panels, claims=claims,
        needs=("training",), notes=_NOT_RELEASED,
    )


def _temperature() -> Experiment:
    arms = []
    panels = []
    for temperature in (0.6, 1.0, 1.2):
        base, rl = f"base-t{temperature}", f"rl-t{temperature}"
        arms += [Arm(base, "qwen2.5-7b", "base", temperature), Arm(rl, "simplerl-zoo-qwen2.5-7b", "rl", temperature)]
        for bench, panel, n in (("aime24", "AIME24", 1024), ("math500", "MATH500", 128)):
            panels.append(_pair_panel(bench, n, "Figure 16", f"{panel} (T = {temperature})", "Qwen-2.5-7B",
                                      base=base, rl=rl))
    claims = tuple(
        Greater(9, "the base model degrades above T = 1.0", "base-t0.6", LARGEST, "base-t1.2", LARGEST, bench)
        for bench in ("aime24", "math500")
    )
    return Experiment(
        id="temperature", title="Sampling temperature 0.6 / 1.0 / 1.2", section="D", figures=("Figure 16",),
        kind="math", arms=tuple(arms), panels=tuple(panels), claims=claims,
    )


# Figure 17: RL temperature chosen to match the base's output entropy at T = 0.6.
# (benchmark, panel, RL temperature, its legend text, n)
_ENTROPY_PANELS = (("aime24", "AIME24 (E_base = 0.47)", 1.5, "1.5", 1024),
                   ("amc23", "AMC23 (E_base = 0.51)", 0.9, "0.9", 1024),
                   ("gsm8k", "GSM8K (E_base = 0.75)", 1.0, "1.0", 128),
                   ("math500", "MATH500 (E_base = 0.72)", 0.85, "0.85", 128),
                   ("minerva", "Minerva (E_base = 0.63)", 0.85, "0.85", 128),
                   ("olympiad", "Olympiad (E_base = 0.5)", 1.0, "1.0", 128))


def _entropy() -> Experiment:
    arms = {"base": Arm("base", "qwen2.5-7b", "base"), "rl": Arm("rl", "simplerl-zoo-qwen2.5-7b", "rl")}
    panels = []
    claims = []
    for bench, panel, temperature, label, n in _ENTROPY_PANELS:
        matched = f"rl-t{temperature}"
        arms[matched] = Arm(matched, "simplerl-zoo-qwen2.5-7b", "rl", temperature)
        panels.append(Panel(bench, n, (
            ("base", CurveRef("Figure 17", panel, "Qwen-2.5-7B", "Base (T=0.6)")),
            ("rl", CurveRef("Figure 17", panel, "Qwen-2.5-7B", "RL (T=0.6)")),
            (matched, CurveRef("Figure 17", panel, "Qwen-2.5-7B", f"RL (T={label})")),
        )))
        claims.append(Greater(9, "entropy-matched RL does not close the gap at large k", "base", LARGEST,
                              matched, LARGEST, bench))
    return Experiment(
        id="entropy", title="RL sampled at the base model's output entropy", section="D", figures=("Figure 17",),
        kind="math", arms=tuple(arms.values()), panels=tuple(panels), claims=tuple(claims),
        needs=("entropy-match",),
        notes=("the rl-t* arms use the paper's matched temperatures (compared with its curves); the entropy-match "
               "stage measures the temperature itself and runs the RL model there as rl-matched "
               "(repro.analysis.entropy)",),
    )


def _accuracy_histogram() -> Experiment:
    arms = []
    histograms = []
    for _, family, base_model, rl_model, _ in ZOO_FAMILIES:
        tag = family.lower().replace("-", "").replace(".", "")
        base, rl = f"base-{tag}", f"rl-{tag}"
        arms += [Arm(base, base_model, "base"), Arm(rl, rl_model, "rl")]
        for bench, panel in HISTOGRAM_PANELS.items():
            histograms += [HistogramRef(base, bench, "Figure 13", panel, family, "Base"),
                           HistogramRef(rl, bench, "Figure 13", panel, family, "RL")]
    benches = tuple(HISTOGRAM_PANELS)
    families = [family for _, family, _, _, _ in ZOO_FAMILIES]
    claims = tuple(HistogramShift(arms[2 * i].name, arms[2 * i + 1].name, benches, family)
                   for i, family in enumerate(families))
    return Experiment(
        id="accuracy-histogram", title="Per-problem accuracy histograms, base vs RL", section="D",
        figures=("Figure 5", "Figure 13"), kind="math", arms=tuple(arms), histograms=tuple(histograms),
        claims=claims,
    )


def _build() -> tuple[Experiment, ...]:
    experiments = [_zoo(*family) for family in ZOO_FAMILIES]
    experiments += [
        _pair_experiment(
            "math-oat-zero", "Oat-Zero vs Qwen2.5-Math-7B on AIME24 (4k context)", "A", ("Figure 10",), "math",
            "qwen2.5-math-7b", "oat-zero-7b",
            (_pair_panel("aime24", 2048, "Figure 10", "AIME24", "Qwen-2.5-Math-7B (Oat-Zero)",
                         "Qwen-2.5-Math-7B", "Qwen-2.5-Math-7B-Oat-Zero"),),
            notes=(_QWEN_MATH_NOTE,),
        ),
        _pair_experiment(
            "math-dapo", "DAPO-32B vs Qwen2.5-32B on AIME24 (DAPO prompt)", "A", ("Figure 10",), "math",
            "qwen2.5-32b-dapo-prompt", "dapo-qwen-32b",
            (_pair_panel("aime24", 1024, "Figure 10", "AIME24", "Qwen-2.5-32B (DAPO)",
                         "Qwen-2.5-Base-32B", "DAPO-32B"),),
            notes=("the DAPO prompt's stop string 'Answer:' cuts generation where DAPO writes its answer "
                   "(the paper's behaviour, the default; KEEP_DAPO_ANSWER / repro.models.stop_strings keep "
                   "the answer line instead)",),
        ),
        _pair_experiment(
            "math-aime-filtered", "AIME24 without guessable problems", "A", ("Figure 12",), "math",
            "qwen2.5-7b", "simplerl-zoo-qwen2.5-7b",
            (_pair_panel("aime24-filtered", 1024, "Figure 12", "AIME24 (filtered)", "Qwen-2.5-7B"),),
            needs=("aime24-filter-list",),
            notes=("the paper does not publish which 18 AIME24 problems it kept: each run rebuilds the list by "
                   "App. D.2's procedure (aime24-filter.json beside the results), so its problems may differ from "
                   "the paper's",),
        ),
        _pair_experiment(
            "code-r1", "Code-R1 vs Qwen2.5-7B-Instruct-1M on code", "B", ("Figure 4", "Figure 11", "Table 5"), "code",
            "qwen2.5-7b-instruct-1m", "coder1-zero-7b",
            (
                _pair_panel("humaneval-plus", 128, "Figure 4", "HumanEval+", "Qwen-2.5-7B-Instruct-1M",
                            "Qwen-2.5-7B-Instruct-1M", "Coder-R1-Zero-Qwen-2.5-7B"),
                _pair_panel("mbpp-plus", 128, "Figure 4", "MBPP+", "Qwen-2.5-7B-Instruct-1M",
                            "Qwen-2.5-7B-Instruct-1M", "Coder-R1-Zero-Qwen-2.5-7B"),
                _pair_panel("lcb-2408-2501", 128, "Figure 11", "LiveCodeBench (2024.8-2025.1)",
                            "Qwen-2.5-7B-Instruct-1M", "Qwen-2.5-7B-Instruct-1M", "Coder-R1-Zero-Qwen-2.5-7B"),
                _pair_panel("lcb-2305-2501", 128, "Figure 11", "LiveCodeBench (2023.5-2025.1)",
                            "Qwen-2.5-7B-Instruct-1M", "Qwen-2.5-7B-Instruct-1M", "Coder-R1-Zero-Qwen-2.5-7B"),
            ),
            needs=("grade:code",),
            # Code-R1 evaluated HumanEval+/MBPP+ with evalplus' chat prompt and LiveCodeBench
            # with LiveCodeBench's own CodeQwen prompt (paper Figs 24, 25; docs/models.md).
            prompt_templates=(("humaneval-plus", "evalplus-chat"), ("mbpp-plus", "evalplus-chat")),
        ),
        _pair_experiment(
            "code-deepcoder", "DeepCoder-14B vs R1-Distill-Qwen-14B on LiveCodeBench", "B", ("Figure 3",), "code",
            "r1-distill-qwen-14b", "deepcoder-14b",
            (_pair_panel("lcb-2408-2501", 64, "Figure 3", "LiveCodeBench (2024.8-2025.1)",
                         "DeepSeek-R1-Distill-Qwen-14B", "DeepSeek-R1-Distill-Qwen-14B (Base)",
                         "Deepcoder-14B-Preview (RL)"),),
            lengths=DEEPCODER_LENGTHS,
            needs=("grade:code",),
        ),
        _pair_experiment(
            "visual-easyr1", "Qwen2.5-VL-7B vs its EasyR1 GRPO model on visual math", "C", ("Figure 4",), "visual",
            "qwen2.5-vl-7b-instruct", "qwen2.5-vl-7b-easyr1",
            (
                _pair_panel("mathvista-free", 128, "Figure 4", "MathVista", "Qwen2.5-VL-7B-Instruct",
                            "Qwen2.5-VL-7b-Instruct", "Qwen2.5-VL-7b-Instruct-RL"),
                _pair_panel("mathvision-open", 128, "Figure 4", "MathVision", "Qwen2.5-VL-7B-Instruct",
                            "Qwen2.5-VL-7b-Instruct", "Qwen2.5-VL-7b-Instruct-RL"),
            ),
            needs=("grade:visual", "training"),
            notes=("the RL model was never released: it must be trained first (visual-easyr1-train)",),
        ),
        Experiment(
            id="coverage", title="Problems solved at least once: RL vs base", section="D",
            figures=("Table 4", "Table 5"), kind="math",
            arms=(Arm("base", "qwen2.5-7b", "base"), Arm("rl", "simplerl-zoo-qwen2.5-7b", "rl"),
                  Arm("code-base", "qwen2.5-7b-instruct-1m", "base"), Arm("code-rl", "coder1-zero-7b", "rl")),
            solved_sets=(
                SolvedSetRef("base", "aime24", "Table 4", "Qwen2.5-7B-Base"),
                SolvedSetRef("rl", "aime24", "Table 4", "SimpleRL-Qwen2.5-7B"),
                SolvedSetRef("code-base", "lcb-2305-2501", "Table 5", "Qwen2.5-7B-Instruct-1M", 400, 450),
                SolvedSetRef("code-rl", "lcb-2305-2501", "Table 5", "Coder-R1", 400, 450),
            ),
            claims=(NearlySubset("base", "rl", "aime24"),
                    NearlySubset("code-base", "code-rl", "lcb-2305-2501", 400, 450)),
            notes=("the LiveCodeBench half needs the code grader",),
        ),
        _accuracy_histogram(),
        Experiment(
            id="perplexity", title="Perplexity of the base model on its own and on RL responses", section="D",
            figures=("Figure 6",), kind="analysis",
            arms=(Arm("base", "qwen2.5-7b", "base"), Arm("rl", "simplerl-zoo-qwen2.5-7b", "rl")),
            # Claim 4 is judged by the perplexity stage (repro.perplexity_claim), per problem.
            needs=("perplexity",),
            notes=("the OpenAI-o1 responses of Fig 6 cannot be regenerated offline",),
        ),
        Experiment(
            id="distillation", title="Distillation vs RL vs instruct on Minerva", section="D", figures=("Figure 7",),
            kind="math",
            arms=(Arm("base", "qwen2.5-math-7b", "base"), Arm("rl", "oat-zero-7b", "rl"),
                  Arm("instruct", "qwen2.5-math-7b-instruct", "instruct"),
                  Arm("distill", "r1-distill-qwen-7b", "distill")),
            panels=(Panel("minerva", 128, tuple(
                (arm, CurveRef("Figure 7", "Minerva", "Qwen2.5-Math-7B", label))
                for arm, label in (("base", "Base"), ("rl", "RL"), ("instruct", "Instruct"), ("distill", "Distill"))
            )),),
            claims=(AboveEverywhere(5, "the distilled model lies above the base at every k", "distill", "base",
                                    "minerva"),),
            notes=(_QWEN_MATH_NOTE,
                   "DeepSeek-R1-Distill-Qwen-7B (131,072-token context) runs at the math lengths of every other "
                   "model with a long context (16,384 new tokens, max_model_len 32,768), not at the 4,096 of the "
                   "other three: the paper's evaluator capped every model at 4,096, which cut its long reasoning "
                   "(docs/models.md, 'Lengths')"),
        ),
        _temperature(),
        _entropy(),
        Experiment(
            id="cot-validity", title="Export correct chains of thought of the hardest solved problems",
            section="D", figures=("§3.1", "App. D.2"), kind="math",
            arms=(Arm("base", "qwen2.5-7b", "base"), Arm("rl", "simplerl-zoo-qwen2.5-7b", "rl")),
            # The samples whose hardest solved problems are checked: GSM8K (§3.1) and the filtered
            # AIME24 (App. D.2), the same runs as math-zoo-qwen7b and math-aime-filtered (shared).
            panels=(_pair_panel("gsm8k", 128, "Figure 9", "GSM8K", "Qwen-2.5-7B"),
                    _pair_panel("aime24-filtered", 1024, "Figure 12", "AIME24 (filtered)", "Qwen-2.5-7B")),
            needs=("aime24-filter-list", "manual-check"),
            notes=("writes a review sheet of the correct chains of thought of problems with accuracy in (0, 5%) "
                   "(`repro review export`); a person's verdicts, read back by `repro review read`, give the "
                   "counts compared with the paper's (expected/printed_values.csv); the visual check of §3.3 is "
                   "`repro review export visual-easyr1`",),
        ),
        _rl_algorithms(),
        _rl_steps(),
        _rl_kl_rollouts(),
        Experiment(
            id="visual-easyr1-train", title="Train Qwen2.5-VL-7B with EasyR1 GRPO on Geometry3K", section="F",
            figures=("§3.3",), kind="training",
            arms=(Arm("base", "qwen2.5-vl-7b-instruct", "base"),),
            needs=("training",),
            notes=("EasyR1 defaults of March 2025: rollout n 5, T 1.0, KL 1e-2, lr 1e-6, 2,048 response tokens, "
                   "15 episodes",),
        ),
    ]
    return tuple(experiments)


EXPERIMENTS: tuple[Experiment, ...] = _build()


def printed_not_scored(key: tuple[str, str, str, str]) -> str | None:
    """Why no experiment scores this printed number as a statistic of its results, or None.
    With the experiments' `printed` references, this accounts for every row of
    printed_values.csv (tests/test_printed.py checks it)."""
    source, _, _, metric = key
    if key in PRINTED_NOT_SCORED:
        return PRINTED_NOT_SCORED[key]
    if source == "Figure 17":
        return ("an output entropy, not a statistic of pass@k results: the entropy experiment's entropy stage "
                "measures it and scores it (repro.analysis.entropy.score_printed_entropies)")
    if metric.startswith("hard problems"):
        return "a count of chains of thought judged by hand: read back by the cot-validity review"
    return None


PRINTED_NOT_SCORED: dict[tuple[str, str, str, str], str] = {
    ("Section 4.3", "every RL algorithm", "Omni-MATH-Test", "Delta_SE lower bound"):
        "a bound, not a value: claim 6 of rl-algorithms tests it (Delta_SE > 40 points for every algorithm)",
    ("Section 3.1", "Oat-Zero-7B and DAPO-32B minus their bases", "AIME24", "pass@k gap (RL - base)"):
        "loose wording ('nearly 30% higher') for two models at once: the digitized Figure 10 points are scored",
    ("Figure 24 caption", "Coder-R1 (the paper's evaluation)", "LiveCodeBench", "pass@1"):
        "the caption names no LiveCodeBench release, and neither Figure 11 panel draws 28.6 at k = 1 (28.2 on "
        "2023.5-2025.1, 18.2 on 2024.8-2025.1): which problems it counts is unknown; the curves are scored",
    ("Figure 24 caption", "Coder-R1 (reported by its authors)", "LiveCodeBench", "pass@1"):
        "the Code-R1 authors' own evaluation, quoted by the paper: not a setting this package reruns",
    ("Appendix D.2", "Qwen2.5-7B-Base", "AIME24", "problems kept by the guessing filter"):
        "the count of a filter's decisions: the rebuilt list's count is shown beside it in aime24-filter.json "
        "and the report (the paper's 18 are unpublished)",
}
