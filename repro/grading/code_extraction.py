"""The program in a completion, read as the prompt template's harness reads it.

    extract_code(completion, opened_fence="```python")  -> the program, or None (LiveCodeBench)
    extract_last_block_rllm(completion)                  -> the program, or None (rllm, DeepCoder)
    extract_program(template, completion, entry_point)   -> by the template's rule (EXTRACTIONS)

The templates (`repro/code_prompts.py`) only name their rule (`CodeTemplate.extraction`); the
rules live here, in the grading layer, with evalplus' sanitizer (`evalplus_sanitize.py`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from repro.grading.evalplus_sanitize import sanitize

if TYPE_CHECKING:
    from repro.code_prompts import CodeTemplate


def extract_code(completion: str, opened_fence: str | None = None) -> str | None:
    """The program in a completion: the text between the last two lines that contain ```
    (LiveCodeBench `extract_code`), i.e. the last fenced block.

    `opened_fence` is the fence the prompt already opened (the LCB prompt ends the assistant
    turn with "```python", so the completion only holds the closing fence): it is put back in
    front of the completion first. None when there is no complete block (LCB then scores the
    sample wrong)."""
    text = completion
    if opened_fence:
        separator = "" if opened_fence.endswith("\n") or completion.startswith("\n") else "\n"
        text = opened_fence + separator + completion
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return None
    return "\n".join(lines[fences[-2] + 1: fences[-1]])


_RLLM_BLOCK = re.compile(r"```(?:\w+)?\n(.*?)```", re.DOTALL)


def extract_last_block_rllm(completion: str) -> str | None:
    """The program as rllm reads it for DeepCoder (rllm/rewards/code_reward.py
    `extract_code_from_model` at 18e446c): the blocks are matched from the left, an opening
    fence being ``` plus an optional word and a newline and the block ending at the next ```,
    wherever it stands; the last block, stripped. A final block cut off by the token budget is
    no block, so an earlier complete one (a draft in the thinking, say) is taken. None when
    there is no block."""
    blocks = _RLLM_BLOCK.findall(completion)
    return blocks[-1].strip() if blocks else None


def extract_program(template: CodeTemplate, completion: str, entry_point: str | None = None) -> str | None:
    """The program in a completion as the template's harness reads it (see
    `repro.code_prompts.EXTRACTIONS`);
    None when there is none. `entry_point` is the function evalplus' sanitizer keeps."""
    if template.tabs_to_spaces:
        completion = completion.replace("\t", "    ")
    if template.extraction == "evalplus":
        program = sanitize(completion, entry_point)
        return program if program.strip() else None
    if template.extraction == "rllm":
        return extract_last_block_rllm(completion)
    return extract_code(completion, template.opened_fence)
