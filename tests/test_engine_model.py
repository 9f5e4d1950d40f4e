"""The model folder VeRL is given for a plain-text prompt renders that prompt exactly as evaluation
sends it (repro.training.engine_model), and a merged model gets its base tokenizer back
(repro.merging.restore_tokenizer). The engine's own dataset class reads the same text in
tests/test_training_engine.py (training environment)."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")

from repro.merging import MergeError, restore_tokenizer  # noqa: E402
from repro.models import get_model  # noqa: E402
from repro.problems import Problem  # noqa: E402
from repro.prompts import render_prompt  # noqa: E402
from repro.training.data import get_training_set, math_row  # noqa: E402
from repro.training.engine_model import (  # noqa: E402
    PASS_THROUGH,
    needs_pass_through,
    prepare_pass_through,
    view_folder,
)
from repro.training.runs import RUNS  # noqa: E402

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
PROBLEM = Problem(problem_id="omni/7", index=7, question="Find $x$ if $2x + 3 = 11$.\nGive an integer.", answer="4")


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator([render_prompt("r1-zero", PROBLEM)], trainer=trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>",
                                                chat_template=CHATML)


@pytest.fixture
def base(tmp_path):
    """A base model folder as downloaded: tokenizer files with a ChatML template, a config, weights."""
    folder = tmp_path / "models" / "qwen2.5-7b-r1-prompt"
    _tokenizer().save_pretrained(folder)
    (folder / "config.json").write_text('{"model_type": "qwen2"}\n')
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def _render(folder, messages) -> str:
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def test_the_engine_renders_the_figure_27_row_exactly_as_evaluation_sends_it(base):
    row = math_row(PROBLEM, "omni-math-rule", "train", "r1-zero")
    evaluation = render_prompt("r1-zero", PROBLEM)
    # what VeRL would tokenize with the base model's own template: ChatML around the text
    wrapped = _render(base, row["prompt"])
    assert wrapped != evaluation and "<|im_start|>user\n" + evaluation in wrapped
    view = prepare_pass_through(base)
    assert view == view_folder(base) and view.name.endswith(".pass-through-template")
    assert _render(view, row["prompt"]) == evaluation


def test_the_view_links_every_other_file_and_drops_template_files(base):
    (base / "chat_template.jinja").write_text("{{ 'a template file wins over tokenizer_config.json' }}")
    view = prepare_pass_through(base)
    names = {path.name for path in view.iterdir()}
    assert names == {path.name for path in base.iterdir()} - {"chat_template.jinja"}
    for path in view.iterdir():
        if path.name == "tokenizer_config.json":
            assert not path.is_symlink()
            assert json.loads(path.read_text())["chat_template"] == PASS_THROUGH
        else:
            assert path.is_symlink() and path.resolve() == (base / path.name).resolve()
    # rebuilt in place (a second launch), still the pass-through
    assert prepare_pass_through(base) == view
    assert _render(view, [{"role": "user", "content": "x"}]) == "x"


def test_a_base_without_tokenizer_config_is_refused(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(Exception, match="tokenizer_config.json"):
        prepare_pass_through(tmp_path / "half")


def test_a_merged_model_gets_the_base_tokenizer_back(base, tmp_path):
    view = prepare_pass_through(base)
    merged = tmp_path / "merged"
    merged.mkdir()
    # what the engine saves beside the merged weights: the tokenizer it trained with (the view's)
    transformers.AutoTokenizer.from_pretrained(str(view)).save_pretrained(merged)
    assert _render(merged, [{"role": "user", "content": "x"}]) == "x"
    restore_tokenizer(base, merged)
    assert (merged / "tokenizer_config.json").read_bytes() == (base / "tokenizer_config.json").read_bytes()
    assert _render(merged, [{"role": "user", "content": "x"}]) == _render(base, [{"role": "user", "content": "x"}])
    with pytest.raises(MergeError, match="tokenizer_config.json"):
        restore_tokenizer(tmp_path / "nowhere", merged)


def test_which_runs_pass_the_prompt_through():
    for run in RUNS:
        training_set = get_training_set(run.train_set)
        assert needs_pass_through(run) is (not training_set.visual), run.id
        if needs_pass_through(run):
            # the models it makes are evaluated with the same plain-text template
            assert run.template == training_set.template, run.id
            assert {get_model(model).template for model in run.models} == {run.template}, run.id
