"""The vision-language path: a tiny Qwen2.5-VL model, images through qwen-vl-utils, the vLLM
request construction and the transformers engine.

The engine tests need qwen-vl-utils and a torchvision that loads, which the main CPU install
cannot have beside vLLM's CPU torch: they run in the vision environment
(`bash scripts/install-visual`, then `.venv-visual/bin/python -m pytest -q tests/test_visual_engine.py`,
part of the README's test command) and skip elsewhere. The first tests need neither.
"""

from __future__ import annotations

import json

import pytest

from repro.errors import ReproError
from repro.prompts import IMAGE_PLACEHOLDER, get_template
from repro.sampling.base import Request, SamplingParams
from repro.sampling.vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, pixel_bounds, vllm_inputs


def test_the_fig26_prompt_holds_one_image_placeholder_before_the_question():
    prompt = get_template("visual-r1").render("How many circles?")
    assert prompt.count(IMAGE_PLACEHOLDER) == 1
    assert prompt.index(IMAGE_PLACEHOLDER) < prompt.index("How many circles?")
    assert "The final answer MUST BE put in \\boxed{}." in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_text_requests_go_to_vllm_as_text_and_mismatched_images_are_refused(tmp_path):
    text = Request("p", 0, "plain prompt", 1, 1)
    assert vllm_inputs(text, 3136, 50176) == "plain prompt"
    image = tmp_path / "x.png"
    image.write_bytes(b"not read before the check")
    two_images = Request("p", 0, get_template("visual-r1").render("q"), 1, 1, (str(image), str(image)))
    with pytest.raises(ReproError, match="1 image placeholders for 2 images"):
        vllm_inputs(two_images, 3136, 50176)


def test_pixel_bounds_come_from_the_model_files(tmp_path):
    assert pixel_bounds(str(tmp_path)) == (DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"min_pixels": 100, "max_pixels": 2000}))
    assert pixel_bounds(str(tmp_path)) == (100, 2000)
    (tmp_path / "preprocessor_config.json").unlink()
    (tmp_path / "processor_config.json").write_text(json.dumps(
        {"image_processor": {"size": {"shortest_edge": 3136, "longest_edge": 50176}}}))
    assert pixel_bounds(str(tmp_path)) == (3136, 50176)


# ---------------------------------------------------------------- the vision environment

vision = pytest.mark.skipif(
    not __import__("importlib").util.find_spec("qwen_vl_utils"),
    reason="needs the vision environment (bash scripts/install-visual)")


@pytest.fixture(scope="module")
def tiny_vl(tmp_path_factory):
    from repro.sampling.tiny_vl_model import build_tiny_vl_model

    return build_tiny_vl_model(tmp_path_factory.mktemp("models") / "tiny-vl", seed=0)


@pytest.fixture
def picture(tmp_path):
    from PIL import Image, ImageDraw

    path = tmp_path / "picture.png"
    image = Image.new("RGB", (300, 200), "white")  # 60,000 pixels: above the tiny model's bound
    ImageDraw.Draw(image).ellipse((40, 40, 160, 160), outline="black", width=4)
    image.save(path)
    return path


@vision
def test_tiny_model_rebuilds_identically(tmp_path, tiny_vl):
    from repro.sampling.tiny_vl_model import build_tiny_vl_model

    again = build_tiny_vl_model(tmp_path / "again", seed=0)
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny_vl / name).read_bytes(), name
    config = json.loads((tiny_vl / "config.json").read_text())
    assert config["model_type"] == "qwen2_5_vl"


@vision
def test_vllm_request_carries_the_image_resized_within_the_model_bounds(tiny_vl, picture):
    low, high = pixel_bounds(str(tiny_vl))
    assert (low, high) == (3136, 50176)
    request = Request("p", 0, get_template("visual-r1").render("How many circles?"), 7, 2, (str(picture),))
    inputs = vllm_inputs(request, low, high)
    assert inputs["prompt"] == request.prompt
    image = inputs["multi_modal_data"]["image"]
    width, height = image.size
    assert width % 28 == 0 and height % 28 == 0 and low <= width * height <= high
    assert abs(width / height - 1.5) < 0.2  # the aspect ratio survives the resize


@vision
def test_transformers_engine_expands_the_image_and_samples_reproducibly(tiny_vl, picture):
    from repro.sampling.hf_backend import HfVisionBackend

    backend = HfVisionBackend(str(tiny_vl))
    request = Request("p", 0, get_template("visual-r1").render("How many circles?"), 11, 3, (str(picture),))
    inputs = backend._model_inputs(request)
    image_token = json.loads((tiny_vl / "config.json").read_text())["image_token_id"]
    # 12 x 8 patches of 14 pixels merged 2 x 2 -> a few dozen vision tokens, not one placeholder.
    assert int((inputs["input_ids"] == image_token).sum()) > 1
    params = SamplingParams(0.6, 0.95, 12, (), 2048)
    first = backend.generate([request], params)[0]
    again = backend.generate([request], params)[0]
    assert len(first) == 3 and [c.text for c in first] == [c.text for c in again]
    other_seed = backend.generate([Request("p", 0, request.prompt, 12, 3, request.images)], params)[0]
    assert [c.text for c in other_seed] != [c.text for c in first]
    assert backend.describe()["vision"]["max_pixels"] == 50176


@vision
def test_visual_experiment_smoke_through_the_transformers_engine(tmp_path, monkeypatch):
    import csv

    from typer.testing import CliRunner

    from cli import app

    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REPRO_OFFLINE", "1")
    result = CliRunner().invoke(app, ["run", "visual-easyr1", "--tier", "smoke", "--backend", "hf",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "experiments" / "visual-easyr1" / "smoke" / "hf" / "results"
    for arm in ("base", "rl"):
        for benchmark in ("mathvista-free", "mathvision-open"):
            rows = list(csv.DictReader((folder / f"{arm}__{benchmark}.csv").open()))
            assert len(rows) == 4 and all(int(row["n"]) == 4 for row in rows)
    manifests = list((tmp_path / "out" / "samples" / "hf").glob("*/*/*/manifest.json"))
    assert len(manifests) == 4
    for manifest in manifests:
        stored = json.loads(manifest.read_text())
        key = stored["key"]
        assert key["template"]["name"] == "visual-r1"
        assert key["data"]["selection"]["kept"] < key["data"]["selection"]["source_rows"]  # the filter dropped rows
        assert key["engine"]["qwen_vl_utils"].startswith("qwen-vl-utils ")  # planned from package metadata
        assert stored["engine_facts"]["vision"]["max_pixels"] == 50176  # said by the started engine
    report = (tmp_path / "out" / "reports" / "smoke" / "report.md").read_text()
    assert "kept" in report and "rows" in report
