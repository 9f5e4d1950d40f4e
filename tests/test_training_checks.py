"""The algorithm checks' own arithmetic (worked by hand here) and the run -> algorithm table.

The engine's estimators are held against these in tests/test_training_engine.py."""

from __future__ import annotations

import copy
import math

import pytest

from repro import training_checks as tc

S3 = math.sqrt(3.0)


def test_grpo_normalizes_within_the_group_with_the_n_minus_1_std():
    rewards = [[0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 1]]
    mask = [[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 1, 0], [1, 1, 1]]
    index = ["a", "a", "a", "a", "b"]
    got = tc.grpo_advantages(rewards, mask, index)
    # group a: scores 1, 0, 0, 1; mean 1/2, std (n - 1) sqrt(1/3): +-(1/2) / sqrt(1/3) = +-sqrt(3)/2
    # (the population std, 1/2, would give +-1); group b alone: mean 0, std 1.
    half = S3 / 2
    expected = [[half] * 3, [-half] * 3, [-half, -half, 0], [half, half, 0], [1.0] * 3]
    for row, want in zip(got, expected):
        assert row == pytest.approx(want, rel=1e-5)


def test_rloo_uses_the_mean_of_the_other_responses():
    rewards = [[1.0], [0.0], [0.0], [1.0], [0.5]]
    got = tc.rloo_advantages(rewards, [[1]] * 5, [0, 0, 0, 0, 1])
    # 1 - (0 + 0 + 1)/3 = 2/3; 0 - 2/3; a prompt with one response keeps its reward (VeRL's rule)
    assert [row[0] for row in got] == pytest.approx([2 / 3, -2 / 3, -2 / 3, 2 / 3, 0.5])


def test_reinforce_plus_plus_whitens_returns_to_go_over_the_batch():
    rewards = [[0, 0, 1], [0, 0, 0]]
    mask = [[1, 1, 1], [1, 1, 0]]
    assert tc.returns_to_go(rewards, mask) == [[1, 1, 1], [0, 0, 0]]
    # valid returns 1, 1, 1, 0, 0: mean 0.6, unbiased variance (3 * 0.16 + 2 * 0.36) / 4 = 0.3
    scale = 1 / math.sqrt(0.3 + 1e-8)
    got = tc.reinforce_plus_plus_advantages(rewards, mask)
    assert got[0] == pytest.approx([0.4 * scale] * 3)
    assert got[1] == pytest.approx([-0.6 * scale, -0.6 * scale, 0.0])


def test_returns_to_go_discount_and_stop_at_the_end():
    assert tc.returns_to_go([[1, 0, 2, 5]], [[1, 1, 1, 0]], gamma=0.5) == [[1 + 0.25 * 2, 0.5 * 2, 2, 0]]


def test_remax_subtracts_the_greedy_reward():
    got = tc.remax_advantages([[0, 0, 1], [0, 1, 0]], [[1, 1, 1], [1, 1, 0]], baselines=[0.5, 1.0])
    assert got == [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0]]


def test_gae_with_gamma_and_lambda_one_is_return_minus_value_then_whitened():
    advantages, returns = tc.gae_advantages_and_returns([[0, 1], [0, 0]], [[0.5, 0.5], [0.5, 0.5]],
                                                        [[1, 1], [1, 1]], gamma=1.0, lam=1.0)
    assert returns == [[1.0, 1.0], [0.0, 0.0]]
    # raw advantages +-0.5; unbiased variance 1/3: whitened +-0.5 * sqrt(3)
    assert advantages[0] == pytest.approx([S3 / 2] * 2) and advantages[1] == pytest.approx([-S3 / 2] * 2)


def test_gae_discounts_the_td_errors():
    _, returns = tc.gae_advantages_and_returns([[0.0, 1.0], [0.0, 0.0]], [[0.2, 0.4], [0.0, 0.0]],
                                               [[1, 1], [1, 1]], gamma=0.9, lam=0.5)
    # delta_1 = 1 - 0.4 = 0.6; delta_0 = 0 + 0.9 * 0.4 - 0.2 = 0.16; A_0 = 0.16 + 0.45 * 0.6 = 0.43
    assert returns[0] == pytest.approx([0.43 + 0.2, 0.6 + 0.4])


def test_dapo_overlong_penalty_is_zero_then_linear_down_to_minus_the_factor():
    assert tc.dapo_overlong_penalty(7000, 8192, 1024) == 0.0
    assert tc.dapo_overlong_penalty(7168, 8192, 1024) == 0.0
    assert tc.dapo_overlong_penalty(7680, 8192, 1024) == pytest.approx(-0.5)
    assert tc.dapo_overlong_penalty(8192, 8192, 1024, penalty_factor=2.0) == pytest.approx(-2.0)


# A GRPO configuration as a run table would write it, by hand (VeRL 0.3.0.post1 keys).
GRPO_CONFIG = {
    "data": {"train_batch_size": 128, "max_response_length": 8192},
    "actor_rollout_ref": {"rollout": {"n": 8, "temperature": 1.0},
                          "actor": {"use_kl_loss": False, "kl_loss_coef": 0.001}},
    "algorithm": {"adv_estimator": "grpo", "kl_ctrl": {"type": "fixed", "kl_coef": 0.0}},
}


def test_a_grpo_configuration_selects_grpo_and_nothing_else():
    assert tc.selection_problems("grpo", GRPO_CONFIG) == []
    assert tc.selection_problems("rloo", GRPO_CONFIG) == ["algorithm.adv_estimator: 'grpo', wanted 'rloo'"]
    assert tc.selection_problems("ppo", GRPO_CONFIG) == ["algorithm.adv_estimator: 'grpo', wanted 'gae'"]
    assert tc.selection_problems("grpo-n32", GRPO_CONFIG) == ["actor_rollout_ref.rollout.n: 8, wanted 32"]


def test_verl_s_default_in_reward_kl_is_caught():
    # 0.3.0.post1 subtracts 0.001 * KL from the reward whenever the KL loss is off.
    config = copy.deepcopy(GRPO_CONFIG)
    config["algorithm"]["kl_ctrl"]["kl_coef"] = 0.001
    assert tc.selection_problems("grpo", config) == ["algorithm.kl_ctrl.kl_coef: 0.001, wanted 0.0"]


def test_grpo_with_kl_needs_the_kl_loss_at_0_001():
    assert tc.selection_problems("grpo-kl", GRPO_CONFIG) == ["actor_rollout_ref.actor.use_kl_loss: False, wanted True"]
    config = copy.deepcopy(GRPO_CONFIG)
    config["actor_rollout_ref"]["actor"]["use_kl_loss"] = True
    config["algorithm"]["kl_ctrl"]["kl_coef"] = 0.001  # skipped by the trainer when the KL loss is on
    assert tc.selection_problems("grpo-kl", config) == []


def test_a_bool_is_not_a_number_and_a_missing_key_is_named():
    config = copy.deepcopy(GRPO_CONFIG)
    config["actor_rollout_ref"]["actor"]["use_kl_loss"] = 0
    del config["data"]["max_response_length"]
    assert tc.selection_problems("grpo", config) == ["data.max_response_length: missing (wanted 8192)",
                                                     "actor_rollout_ref.actor.use_kl_loss: 0, wanted False"]


def test_dapo_needs_its_four_changes():
    plain = tc.selection_problems("dapo", GRPO_CONFIG)
    assert any(p.startswith("actor_rollout_ref.actor.clip_ratio_high: missing") for p in plain)
    assert any(p.startswith("algorithm.filter_groups.enable: missing") for p in plain)
    dapo = copy.deepcopy(GRPO_CONFIG)
    dapo["actor_rollout_ref"]["actor"].update(clip_ratio_low=0.2, clip_ratio_high=0.28, loss_agg_mode="token-mean")
    dapo["algorithm"]["filter_groups"] = {"enable": True, "metric": "acc", "max_num_gen_batches": 10}
    dapo["reward_model"] = {"reward_manager": "dapo",
                            "overlong_buffer": {"enable": True, "len": 1024, "penalty_factor": 1.0}}
    assert tc.selection_problems("dapo", dapo) == []
    dapo["actor_rollout_ref"]["actor"]["clip_ratio_high"] = 0.2  # symmetric clipping: not clip-higher
    dapo["reward_model"]["overlong_buffer"]["len"] = 8192  # punishes every length
    assert tc.selection_problems("dapo", dapo) == [
        "actor_rollout_ref.actor.clip_ratio_high: 0.2, wanted 0.28",
        "reward_model.overlong_buffer.len: 8192, wanted 0 < len < 8192"]


def test_every_paper_run_has_a_selection():
    assert set(tc.RUN_SELECTION) == {"ppo", "grpo", "reinforce-plus-plus", "rloo", "remax", "dapo", "grpo-kl",
                                     "grpo-n32"}
    with pytest.raises(KeyError, match="unknown run"):
        tc.expected_selection("a2c")
