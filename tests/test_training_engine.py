"""The reward and the algorithms, driven through VeRL 0.3.0.post1's own code, on CPU.

Runs in the training environment (.venv-train, with verl==0.3.0.post1 and a CPU torch); skips
where verl is not installed (the main environment). Sources: verl 0.3.0.post1 wheel,
verl/workers/reward_manager/naive.py and verl/trainer/ppo/core_algos.py (line numbers in
docs/training.md, "Reward and algorithm checks")."""

from __future__ import annotations

import numpy as np
import pytest

verl = pytest.importorskip("verl", reason="VeRL is installed in the training environment only (.venv-train)")
torch = pytest.importorskip("torch")

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.ppo import core_algos  # noqa: E402
from verl.workers.reward_manager import NaiveRewardManager  # noqa: E402

from repro import training_checks as tc  # noqa: E402
from repro import training_reward  # noqa: E402
from repro.prompts import get_template  # noqa: E402


def test_the_pinned_engine_is_installed():
    assert verl.__version__ == "0.3.0.post1"


# ------------------------------------------------------------------ the reward manager

PROMPT = get_template("r1-zero").text.format(question="What is $\\frac{1}{2} + \\frac{1}{4}$?")
# (response, ground truth, data source, the reward the grader gives)
ROWS = [
    ("<think> 1/2 + 1/4 = 3/4 </think> <answer> \\frac{3}{4} </answer>", "\\frac{3}{4}", "omni-math-train", 1.0),
    ("<think> half plus a quarter </think> <answer> 0.75", "\\frac{3}{4}", "omni-math-train", 1.0),
    ("<think> 1/2 + 1/4 = 2/6 </think> <answer> \\frac{1}{3} </answer>", "\\frac{3}{4}", "omni-math-train", 0.0),
    ("<think> it is 3/4 </think> <answer></answer>", "\\frac{3}{4}", "omni-math-train", 0.0),
    ("<think> the angle is 60 </think> so \\boxed{60}", "60", "hiyouga/geometry3k", 1.0),
    ("so \\boxed{60}", "60", "hiyouga/geometry3k", 0.9),
]
EOS = "<|endoftext|>"
PAD = "<|pad|>"


@pytest.fixture(scope="module")
def tokenizer():
    """A real Hugging Face fast tokenizer (byte-level BPE), trained here on the texts: the hub is
    out of reach, and what matters is the manager's decode with skip_special_tokens."""
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=[PAD, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator([PROMPT] + [row[0] for row in ROWS], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, pad_token=PAD)


def _batch(tokenizer, rows, response_length=96):
    """A batch as VeRL's rollout leaves it: prompts left-padded, responses right-padded, EOS after
    each response, attention_mask over both (ray_trainer / vLLM rollout layout)."""
    prompt_ids = tokenizer(PROMPT)["input_ids"]
    prompt_length = len(prompt_ids) + 3  # room for left padding
    pad, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    prompts, responses, masks, lengths = [], [], [], []
    for response, *_ in rows:
        ids = tokenizer(response)["input_ids"] + [eos]
        assert len(ids) <= response_length
        left = prompt_length - len(prompt_ids)
        prompts.append([pad] * left + prompt_ids)
        responses.append(ids + [pad] * (response_length - len(ids)))
        masks.append([0] * left + [1] * len(prompt_ids) + [1] * len(ids) + [0] * (response_length - len(ids)))
        lengths.append(len(ids))
    tensors = {"prompts": torch.tensor(prompts), "responses": torch.tensor(responses),
               "attention_mask": torch.tensor(masks)}
    tensors["input_ids"] = torch.cat([tensors["prompts"], tensors["responses"]], dim=1)
    non_tensors = {"data_source": np.array([row[2] for row in rows], dtype=object),
                   "reward_model": np.array([{"ground_truth": row[1], "style": "rule"} for row in rows], dtype=object),
                   "extra_info": np.array([{"index": i} for i in range(len(rows))], dtype=object)}
    return DataProto.from_dict(tensors=tensors, non_tensors=non_tensors), lengths


def _load_like_verl(path: str, name: str):
    """verl/trainer/main_ppo.py `get_custom_reward_fn` (lines 24-49) loads the function this way;
    main_ppo itself is not imported: its Hydra entry point needs antlr 4.9 (see the docs)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("custom_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def test_the_naive_reward_manager_pays_what_the_grader_says(tokenizer):
    import os

    problem = training_reward.grader_environment_problem()
    if problem and not os.environ.get(training_reward.GRADER_PYTHON_ENV):
        pytest.skip(f"this environment's grader would judge unlike the evaluation: {problem}; set "
                    f"{training_reward.GRADER_PYTHON_ENV} to the evaluation's Python to grade there")
    path = training_reward.verl_reward_overrides()[0].split("=", 1)[1]
    compute_score = _load_like_verl(path, "compute_score")
    manager = NaiveRewardManager(tokenizer=tokenizer, num_examine=0, compute_score=compute_score)
    data, lengths = _batch(tokenizer, ROWS)
    rewards = manager(data)
    assert rewards.shape == data.batch["responses"].shape
    for i, (row, length) in enumerate(zip(ROWS, lengths)):
        # the reward sits on the last valid response token (the EOS), nowhere else
        assert rewards[i, length - 1].item() == pytest.approx(row[3]), row
        assert rewards[i].abs().sum().item() == pytest.approx(row[3])


def test_the_manager_decodes_without_the_eos(tokenizer):
    seen = []

    def spy(data_source, solution_str, ground_truth, extra_info=None):
        seen.append((data_source, solution_str, ground_truth, extra_info))
        return 0.0
    data, _ = _batch(tokenizer, ROWS[:2])
    NaiveRewardManager(tokenizer=tokenizer, num_examine=0, compute_score=spy)(data)
    assert seen == [(ROWS[0][2], ROWS[0][0], ROWS[0][1], {"index": 0}),
                    (ROWS[1][2], ROWS[1][0], ROWS[1][1], {"index": 1})]


# ------------------------------------------------------------------ the advantage estimators

REWARDS = [[0, 0, 1.0], [0, 0, 0], [0, 0, 0], [0, 1.0, 0], [0, 0, 0.5], [0, 0, 1.0]]
MASK = [[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]]
INDEX = np.array(["a", "a", "a", "a", "b", "b"], dtype=object)


def _t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def _flat(rows):
    return [float(value) for row in rows for value in row]


def _close(engine, hand):
    assert _flat(engine.tolist()) == pytest.approx(_flat(hand), rel=1e-5, abs=1e-5)


def test_grpo_is_group_normalized_outcome_reward():
    advantages, returns = core_algos.compute_grpo_outcome_advantage(_t(REWARDS), _t(MASK), INDEX)
    _close(advantages, tc.grpo_advantages(REWARDS, MASK, INDEX))
    _close(returns, tc.grpo_advantages(REWARDS, MASK, INDEX))
    # and not the population std: group a would then be +-1
    assert advantages[0, 0].item() == pytest.approx(3 ** 0.5 / 2, rel=1e-5)


def test_rloo_is_the_leave_one_out_baseline():
    advantages, _ = core_algos.compute_rloo_outcome_advantage(_t(REWARDS), _t(MASK), INDEX)
    _close(advantages, tc.rloo_advantages(REWARDS, MASK, INDEX))
    assert advantages[0, 0].item() == pytest.approx(2 / 3, rel=1e-5)


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_reinforce_plus_plus_is_whitened_return_to_go(gamma):
    advantages, returns = core_algos.compute_reinforce_plus_plus_outcome_advantage(_t(REWARDS), _t(MASK),
                                                                                  gamma=gamma)
    _close(returns, tc.returns_to_go(REWARDS, MASK, gamma))
    _close(advantages, tc.reinforce_plus_plus_advantages(REWARDS, MASK, gamma))


def test_remax_subtracts_the_greedy_baseline():
    baselines = [0.5, 1.0, 0.0, 0.0, 0.5, 1.0]
    advantages, returns = core_algos.compute_remax_outcome_advantage(_t(REWARDS), _t(baselines), _t(MASK))
    _close(advantages, tc.remax_advantages(REWARDS, MASK, baselines))
    _close(returns, tc.returns_to_go(REWARDS, MASK))


@pytest.mark.parametrize("gamma, lam", [(1.0, 1.0), (0.9, 0.5)])
def test_ppo_gae(gamma, lam):
    values = [[0.2, 0.4, 0.6], [0.1, 0.0, 0.3], [0.5, 0.5, 0.0], [0.3, 0.2, 0.0], [0.0, 0.1, 0.2], [0.9, 0.8, 0.7]]
    advantages, returns = core_algos.compute_gae_advantage_return(_t(REWARDS), _t(values), _t(MASK),
                                                                  gamma=gamma, lam=lam)
    hand_advantages, hand_returns = tc.gae_advantages_and_returns(REWARDS, values, MASK, gamma, lam)
    _close(returns, hand_returns)
    valid = _t(MASK).bool()
    assert advantages[valid].tolist() == pytest.approx(_t(hand_advantages)[valid].tolist(), rel=1e-4, abs=1e-5)
    assert (advantages[valid] - _t(hand_advantages)[valid]).abs().max().item() < 1e-4


def test_the_estimator_names_select_these_functions():
    # ray_trainer.compute_advantage dispatches on algorithm.adv_estimator (lines 176-221).
    from verl.trainer.ppo.ray_trainer import AdvantageEstimator
    names = {run: selection.get("algorithm.adv_estimator") for run, selection in tc.RUN_SELECTION.items()}
    assert set(names.values()) <= {member.value for member in AdvantageEstimator}


# ------------------------------------------------------------------ the prompt the engine trains on

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def test_the_engines_dataset_reads_the_figure_27_prompt_as_evaluation_sends_it(tokenizer, tmp_path):
    """RLHFDataset (verl/utils/dataset/rl_dataset.py) always applies the tokenizer's chat template;
    through the pass-through view of the base model, the token ids it hands the rollout
    (raw_prompt_ids) and the actor (input_ids) are those of the evaluation's own text."""
    from verl.utils import hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from repro.problems import Problem
    from repro.prompts import render_prompt
    from repro.training.data import math_row, write_rows
    from repro.training.engine_model import prepare_pass_through

    base = tmp_path / "qwen2.5-7b-r1-prompt"
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(base)
    problems = [Problem(problem_id=f"omni/{i}", index=i, question=q, answer="3/4")
                for i, q in enumerate(["What is $\\frac{1}{2} + \\frac{1}{4}$?", "Half plus a quarter?\nBe exact."])]
    path = tmp_path / "train.parquet"
    write_rows([math_row(p, "omni-math-rule", "train", "r1-zero") for p in problems], path)

    def read(model_folder):
        engine_tokenizer = hf_tokenizer(str(model_folder))  # as main_ppo.py loads it from model.path
        dataset = RLHFDataset(parquet_files=str(path), tokenizer=engine_tokenizer, prompt_key="prompt",
                              max_prompt_length=256, cache_dir=str(tmp_path / "cache"))
        return engine_tokenizer, [dataset[i] for i in range(len(problems))]

    engine_tokenizer, wrapped = read(base)
    assert engine_tokenizer.decode(wrapped[0]["raw_prompt_ids"]).startswith("<|im_start|>user\n")  # the trap
    engine_tokenizer, items = read(prepare_pass_through(base))
    for problem, item in zip(problems, items):
        evaluation_ids = engine_tokenizer.encode(render_prompt("r1-zero", problem), add_special_tokens=False)
        assert list(item["raw_prompt_ids"]) == evaluation_ids
        kept = item["input_ids"][item["attention_mask"].bool()].tolist()  # left padding removed
        assert kept == evaluation_ids
