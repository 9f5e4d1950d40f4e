"""The algorithm checks of the training runs: what each paper run must select, and the published
algorithms computed by hand, to hold the engine's code against (issue 12, item 5).

Pure Python, no torch, no engine: the main suite tests these against hand-worked numbers, and
the engine suite (tests/test_training_engine.py, in the training environment) calls VeRL's own
estimators (verl/trainer/ppo/core_algos.py of 0.3.0.post1) on the same inputs and compares.

Advantages here take one response per row: `rewards[i][t]` the token-level reward of row i at
token t, `mask[i][t]` 1 on the response's valid tokens (0 after its end), as VeRL lays them out
(an outcome reward sits on the last valid token; naive.py line 106). Sources, per estimator:

- GRPO (Shao et al. 2024, DeepSeekMath, Sec 4.1.2, outcome supervision): each response's
  advantage is its reward normalized within the group of responses to the same prompt,
  (r_i - mean(r)) / std(r), on every token. The paper does not say which std; VeRL 0.3.0.post1
  uses torch.std, the unbiased (n - 1) one, and adds epsilon 1e-6; a group of one gets mean 0,
  std 1 (core_algos.py lines 130-152). Both are followed here, and a test pins the n - 1.
- RLOO (Ahmadian et al. 2024, arXiv 2402.14740, Eq. 7; Kool et al. 2019): each response's
  baseline is the mean reward of the OTHER responses of its prompt: r_i - mean_{j != i} r_j.
- REINFORCE++ (Hu 2025, arXiv 2501.03262): the discounted return-to-go of the token-level
  reward, G_t = sum_{k >= t} gamma^(k-t) r_k, whitened over all valid tokens of the batch
  (mean 0, unit variance; VeRL's masked_whiten uses the unbiased variance and adds 1e-8).
- ReMax (Li et al. 2023, arXiv 2310.10505, Alg. 1): return-to-go minus the reward of the
  greedy response to the same prompt (the baseline), on valid tokens.
- PPO's GAE (Schulman et al. 2016, arXiv 1506.02438, Eq. 16): delta_t = r_t + gamma V_{t+1} -
  V_t, A_t = sum_l (gamma lambda)^l delta_{t+l}, returns = A + V; VeRL then whitens A over the
  batch's valid tokens (core_algos.py lines 93-107).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

Matrix = list[list[float]]

GRPO_EPSILON = 1e-6  # VeRL 0.3.0.post1 compute_grpo_outcome_advantage's epsilon
WHITEN_EPSILON = 1e-8  # VeRL 0.3.0.post1 masked_whiten's epsilon


def _scores(rewards: Sequence[Sequence[float]]) -> list[float]:
    return [float(sum(row)) for row in rewards]


def _on_valid_tokens(values: Sequence[float], mask: Sequence[Sequence[float]]) -> Matrix:
    return [[value * m for m in row] for value, row in zip(values, mask)]


def _groups(index: Sequence) -> dict:
    members = defaultdict(list)
    for row, key in enumerate(index):
        members[key].append(row)
    return members


def grpo_advantages(rewards, mask, index, epsilon: float = GRPO_EPSILON) -> Matrix:
    """GRPO outcome advantage: (r_i - group mean) / (group std, n - 1 + epsilon) on each token."""
    scores = _scores(rewards)
    advantages = [0.0] * len(scores)
    for rows in _groups(index).values():
        group = [scores[row] for row in rows]
        if len(group) == 1:
            mean, std = 0.0, 1.0
        else:
            mean = sum(group) / len(group)
            std = math.sqrt(sum((s - mean) ** 2 for s in group) / (len(group) - 1))
        for row in rows:
            advantages[row] = (scores[row] - mean) / (std + epsilon)
    return _on_valid_tokens(advantages, mask)


def rloo_advantages(rewards, mask, index) -> Matrix:
    """RLOO: r_i minus the mean reward of the other responses to the same prompt."""
    scores = _scores(rewards)
    advantages = [0.0] * len(scores)
    for rows in _groups(index).values():
        for row in rows:
            others = [scores[other] for other in rows if other != row]
            # A prompt with one response has no other to compare with: VeRL leaves its reward as is.
            advantages[row] = scores[row] - sum(others) / len(others) if others else scores[row]
    return _on_valid_tokens(advantages, mask)


def returns_to_go(rewards, mask, gamma: float = 1.0) -> Matrix:
    """G_t = sum_{k >= t} gamma^(k-t) r_k over each response's valid tokens (0 past its end)."""
    out = []
    for row, row_mask in zip(rewards, mask):
        running, returns = 0.0, [0.0] * len(row)
        for t in reversed(range(len(row))):
            running = (row[t] + gamma * running) * row_mask[t]
            returns[t] = running
        out.append(returns)
    return out


def masked_whiten(values, mask, epsilon: float = WHITEN_EPSILON) -> Matrix:
    """(x - mean) / sqrt(var + epsilon) over the valid tokens of the whole batch (unbiased var)."""
    valid = [v for row, row_mask in zip(values, mask) for v, m in zip(row, row_mask) if m]
    if len(valid) < 2:
        raise ValueError("whitening needs at least two valid tokens")
    mean = sum(valid) / len(valid)
    variance = sum((v - mean) ** 2 for v in valid) / (len(valid) - 1)
    scale = 1.0 / math.sqrt(variance + epsilon)
    return [[(v - mean) * scale for v in row] for row in values]


def reinforce_plus_plus_advantages(rewards, mask, gamma: float = 1.0) -> Matrix:
    """REINFORCE++: whitened returns-to-go, zero past each response's end."""
    whitened = masked_whiten(returns_to_go(rewards, mask, gamma), mask)
    return [[v * m for v, m in zip(row, row_mask)] for row, row_mask in zip(whitened, mask)]


def remax_advantages(rewards, mask, baselines: Sequence[float]) -> Matrix:
    """ReMax: return-to-go minus the greedy response's reward, on valid tokens."""
    returns = returns_to_go(rewards, mask)
    return [[g - b * m for g, m in zip(row, row_mask)] for row, row_mask, b in zip(returns, mask, baselines)]


def gae_advantages_and_returns(rewards, values, mask, gamma: float, lam: float) -> tuple[Matrix, Matrix]:
    """GAE advantages (whitened over valid tokens, as VeRL does) and returns (raw A + V).

    The value after the last token is 0 (the episode ends there); `values` past a response's
    end must be 0, as VeRL's critic masks them."""
    raw, returns = [], []
    for row_r, row_v in zip(rewards, values):
        advantage, row_a = 0.0, [0.0] * len(row_r)
        for t in reversed(range(len(row_r))):
            next_value = row_v[t + 1] if t + 1 < len(row_r) else 0.0
            delta = row_r[t] + gamma * next_value - row_v[t]
            advantage = delta + gamma * lam * advantage
            row_a[t] = advantage
        raw.append(row_a)
        returns.append([a + v for a, v in zip(row_a, row_v)])
    return masked_whiten(raw, mask), returns


def dapo_overlong_penalty(response_length: int, max_response_length: int, buffer_length: int,
                          penalty_factor: float = 1.0) -> float:
    """DAPO's soft overlong punishment (Yu et al. 2025, arXiv 2503.14476, Eq. 13): 0 up to
    max - buffer tokens, then falling linearly to -penalty_factor at the maximum length."""
    expected = max_response_length - buffer_length
    return min(-(response_length - expected) / buffer_length * penalty_factor, 0.0)


# ------------------------------------------------------------------ what each run must select

# The paper's VeRL runs (Sec 4.4, App. D.5): Qwen2.5-7B, prompt batch 128, 8 rollouts, maximum
# response 8,192 tokens, rollout temperature 1.0, no KL term unless named. Keys are VeRL
# 0.3.0.post1 trainer keys (verl/trainer/config/ppo_trainer.yaml). No KL needs TWO settings
# there: the KL loss off AND the in-reward KL coefficient 0, because the trainer subtracts
# kl_ctrl.kl_coef * KL from the reward whenever the KL loss is off (ray_trainer.py lines 270-281
# and 881-886), and that coefficient defaults to 0.001 (ppo_trainer.yaml line 176).
COMMON_SELECTION = {
    "data.train_batch_size": 128,
    "data.max_response_length": 8192,
    "actor_rollout_ref.rollout.n": 8,
    "actor_rollout_ref.rollout.temperature": 1.0,
    "actor_rollout_ref.actor.use_kl_loss": False,
    "algorithm.kl_ctrl.kl_coef": 0.0,
}

# run -> the keys that select its algorithm, over COMMON_SELECTION. PPO's critic is switched on
# by the gae estimator itself (ray_trainer.py lines 283-291); ReMax's greedy baseline rollout by
# the remax estimator (ray_trainer.py lines 819-831).
RUN_SELECTION: dict[str, dict[str, object]] = {
    "ppo": {"algorithm.adv_estimator": "gae"},
    "grpo": {"algorithm.adv_estimator": "grpo"},
    "reinforce-plus-plus": {"algorithm.adv_estimator": "reinforce_plus_plus"},
    "rloo": {"algorithm.adv_estimator": "rloo"},
    "remax": {"algorithm.adv_estimator": "remax"},
    # KL as VeRL's GRPO examples add it: a loss on the actor (low_var_kl), coefficient 0.001.
    # With the KL loss on, the in-reward KL is skipped (ray_trainer.py line 882): its coefficient
    # does not matter (None: not checked).
    "grpo-kl": {"algorithm.adv_estimator": "grpo", "actor_rollout_ref.actor.use_kl_loss": True,
                "actor_rollout_ref.actor.kl_loss_coef": 0.001, "algorithm.kl_ctrl.kl_coef": None},
    "grpo-n32": {"algorithm.adv_estimator": "grpo", "actor_rollout_ref.rollout.n": 32},
    # DAPO is GRPO's estimator plus the recipe's four changes (DAPO_RECIPE below).
    "dapo": {"algorithm.adv_estimator": "grpo"},
}

# What makes DAPO DAPO (Yu et al. 2025, Sec 3; verl recipe/dapo at 3a27a9864, test_dapo_7b.sh),
# in the keys of that commit (not in 0.3.0.post1, whose loss has one clip ratio and no filter):
# clip-higher (eps_low 0.2, eps_high 0.28), dynamic sampling (drop groups whose rewards are all
# equal, by the accuracy metric), token-level policy-gradient loss, overlong reward shaping.
DAPO_RECIPE = {
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.28,
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "algorithm.filter_groups.enable": True,
    "algorithm.filter_groups.metric": "acc",
    "reward_model.reward_manager": "dapo",
    "reward_model.overlong_buffer.enable": True,
}


def lookup(config: Mapping, dotted: str):
    """The value at a dotted key of a nested mapping; KeyError naming the key if absent."""
    node = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(dotted)
        node = node[part]
    return node


def _same(actual, expected) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(actual, expected, rel_tol=0, abs_tol=1e-12)
    return actual == expected


def expected_selection(run: str) -> dict[str, object]:
    if run not in RUN_SELECTION:
        raise KeyError(f"unknown run {run!r}; known: {', '.join(RUN_SELECTION)}")
    expected = {**COMMON_SELECTION, **RUN_SELECTION[run]}
    if run == "dapo":
        expected.update(DAPO_RECIPE)
    return expected


def selection_problems(run: str, config: Mapping) -> list[str]:
    """Every way `config` (a composed trainer config, as nested dicts) fails to select `run`'s
    algorithm; [] when it selects it."""
    problems = []
    for key, wanted in expected_selection(run).items():
        if wanted is None:
            continue
        try:
            actual = lookup(config, key)
        except KeyError:
            problems.append(f"{key}: missing (wanted {wanted!r})")
            continue
        if not _same(actual, wanted):
            problems.append(f"{key}: {actual!r}, wanted {wanted!r}")
    if run == "dapo":
        problems += _dapo_buffer_problems(config)
    return problems


def _dapo_buffer_problems(config: Mapping) -> list[str]:
    """The overlong buffer must leave room for an unpunished answer and punish only the tail."""
    try:
        length = lookup(config, "reward_model.overlong_buffer.len")
        factor = lookup(config, "reward_model.overlong_buffer.penalty_factor")
        max_length = lookup(config, "data.max_response_length")
    except KeyError as missing:
        return [f"{missing.args[0]}: missing (DAPO's overlong shaping needs it)"]
    problems = []
    if not (isinstance(length, int) and 0 < length < max_length):
        problems.append(f"reward_model.overlong_buffer.len: {length!r}, wanted 0 < len < {max_length}")
    if not (isinstance(factor, (int, float)) and factor > 0):
        problems.append(f"reward_model.overlong_buffer.penalty_factor: {factor!r}, wanted > 0")
    return problems
