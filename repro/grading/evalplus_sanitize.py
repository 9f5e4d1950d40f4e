"""evalplus' code sanitizer, with the semantics of evalplus 0.3.1 (`evalplus/sanitize.py`),
written here on the standard library's `ast` instead of tree-sitter.

evalplus scores HumanEval+ and MBPP+ samples after `sanitize(completion, entry_point)`:

1. the longest stretch of whole lines (at least two) that parses, counted in non-blank lines;
   among equally long stretches the first (lowest start line, then lowest end line);
2. of that stretch, every top-level import statement, then the top-level definitions that the
   entry point reaches through the identifiers they mention, in their order. A definition is a
   class, a function that contains a `return` somewhere, or a plain assignment; the first one of
   a name wins; anything else at top level (calls, asserts, `if __name__ == ...` blocks, loops,
   `try` blocks, augmented assignments, decorated definitions, `from __future__` imports) goes;
3. when that leaves nothing, the stretch of step 1 itself.

The rules are followed with their quirks, because evalplus' scores, which the paper reports for
HumanEval+/MBPP+, went through them: a generator without `return`, or a decorated entry point, is dropped (the sample
then fails); an assignment whose left side is not a plain name is named after its right side
when that is a plain name (`a, b = c` defines "c"), else has no name. Parity with evalplus
itself is measured by `scripts/evalplus_sanitize_parity.py` (docs/evalplus_sanitize_parity.md).

`ast.parse` stands for evalplus' `syntax_check`, which also uses it (and counts SyntaxError and
MemoryError as "does not parse"; here ValueError and RecursionError do too, which evalplus would
raise instead).
"""

from __future__ import annotations

import ast
import bisect
import codeop
import heapq
from collections.abc import Iterator


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, MemoryError, ValueError, RecursionError):
        return False
    return True


def _beyond_repair(code: str) -> bool:
    """True when no lines appended to `code` can make it parse: the parser failed before the
    tokenizer reached the end of the text (CPython's own test for "incomplete input", which
    its interactive prompt uses to decide whether to ask for another line). The failure then
    depends only on tokens that appending lines cannot change. A text with a null byte cannot
    parse either, however it goes on. False when unsure."""
    flags = ast.PyCF_ONLY_AST | codeop.PyCF_ALLOW_INCOMPLETE_INPUT
    try:
        compile(code, "<completion>", "exec", flags=flags, dont_inherit=True)
    except SyntaxError as error:
        return error.msg != "incomplete input"
    except ValueError:  # null bytes (Python 3.11)
        return True
    except (MemoryError, RecursionError):
        return False
    return False


def longest_parsable_stretch(text: str) -> str:
    """evalplus' `code_extract`: the lines[i..j] (j > i) that parse and hold the most non-blank
    lines, the first such pair in (i, j) order; lines[0] when none holds any.

    evalplus tries every pair (cubic in the number of lines: hours for a few thousand lines of
    rambling). Here the candidate pairs are taken best first, in evalplus' order of preference
    (more non-blank lines, then lower i, then lower j), so the first pair that parses is the one
    evalplus keeps. A start i is dropped from the first j where lines[i..j] is beyond repair
    (no longer end can parse either), found when the start is first visited, by galloping and
    bisection: a line of prose costs a parse of two lines, code a few parses in all."""
    lines = text.split("\n")
    starts = [0]  # offset of each line in text
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    before = [0]  # before[k]: non-blank lines among lines[:k]
    for line in lines:
        before.append(before[-1] + (1 if line.strip() else 0))

    def stretch(i: int, j: int) -> str:
        return text[starts[i]:starts[j + 1] - 1]

    def count(i: int, j: int) -> int:
        return before[j + 1] - before[i]

    def first_end(i: int, wanted: int, limit: int) -> int | None:
        """The lowest j in [i + 1, limit) with count(i, j) == wanted, if any."""
        j = bisect.bisect_left(before, before[i] + wanted) - 1  # the lowest j reaching the count
        j = max(j, i + 1)
        return j if j < limit and count(i, j) == wanted else None

    def first_beyond_repair(i: int, j: int) -> int | None:
        """The lowest end in [i + 1, j] beyond repair, None when j is not: gallop up from i + 1
        (prose is beyond repair at once; code costs about two parses of lines[i..j]), then
        bisect. Only an end found beyond repair is returned."""
        low, step = i + 1, 1
        while True:
            probe = min(low + step - 1, j)
            if _beyond_repair(stretch(i, probe)):
                high = probe
                break
            if probe == j:
                return None
            low, step = probe + 1, step * 2
        while low < high:
            middle = (low + high) // 2
            if _beyond_repair(stretch(i, middle)):
                high = middle
            else:
                low = middle + 1
        return high

    limit = [len(lines)] * len(lines)  # j < limit[i] may still parse
    queue: list[tuple[int, int, int]] = []  # (-count, i, j): evalplus' order of preference

    def push_next(i: int, wanted: int) -> None:
        """Queue start i's best untried pair holding at most `wanted` non-blank lines."""
        wanted = min(wanted, count(i, limit[i] - 1) if limit[i] > i + 1 else 0)
        while wanted > 0:
            j = first_end(i, wanted, limit[i])
            if j is not None:
                heapq.heappush(queue, (-wanted, i, j))
                return
            wanted -= 1

    for i in range(len(lines) - 1):
        push_next(i, count(i, len(lines) - 1))
    seen = [False] * len(lines)
    while queue:
        negative_count, i, j = heapq.heappop(queue)
        # First visit of a start: where does it go beyond repair? Asked before parsing lines[i..j]:
        # for a line of prose that costs a parse of two lines instead of one of the rest of the text.
        if not seen[i]:
            seen[i] = True
            end = first_beyond_repair(i, j)
            if end is not None:
                limit[i] = end
                push_next(i, -negative_count - 1)  # this count's ends start at j, past the limit
                continue
        code = stretch(i, j)
        if parses(code):
            return code
        if _beyond_repair(code):
            limit[i] = first_beyond_repair(i, j)
            push_next(i, -negative_count - 1)  # this count's other ends are at or past j
        elif j + 1 < limit[i] and count(i, j + 1) == -negative_count:  # the same lines and a blank one
            heapq.heappush(queue, (negative_count, i, j + 1))
        else:
            push_next(i, -negative_count - 1)
    return lines[0]


def _identifiers(node: ast.AST) -> Iterator[str]:
    """Every identifier written in a node (tree-sitter's `identifier` nodes): names, attribute
    names, parameters, keyword-argument names, definition names, imported names and aliases,
    global/nonlocal names, exception and match-pattern names."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            yield child.id
        elif isinstance(child, ast.Attribute):
            yield child.attr
        elif isinstance(child, ast.arg):
            yield child.arg
        elif isinstance(child, ast.keyword) and child.arg is not None:
            yield child.arg
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield child.name
        elif isinstance(child, ast.alias):
            yield from child.name.split(".")
            if child.asname:
                yield child.asname
        elif isinstance(child, ast.ImportFrom) and child.module:
            yield from child.module.split(".")
        elif isinstance(child, (ast.Global, ast.Nonlocal)):
            yield from child.names
        elif isinstance(child, ast.ExceptHandler) and child.name:
            yield child.name
        elif isinstance(child, (ast.MatchAs, ast.MatchStar)) and child.name:
            yield child.name
        elif isinstance(child, ast.MatchMapping) and child.rest:
            yield child.rest
        elif isinstance(child, ast.MatchClass):
            yield from child.kwd_attrs


def _assignment_name(statement: ast.Assign | ast.AnnAssign) -> str | None:
    """tree-sitter's first identifier child of the assignment: the target when it is a plain
    name, else the value when it is a plain name (and no second target stands between)."""
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    if isinstance(targets[0], ast.Name):
        return targets[0].id
    if len(targets) == 1 and isinstance(statement.value, ast.Name):
        return statement.value.id
    return None


def _has_return(node: ast.AST) -> bool:
    return any(isinstance(child, ast.Return) for child in ast.walk(node))


def _reachable(entry_point: str, dependencies: dict[str | None, set[str]]) -> set[str | None]:
    reached: set[str | None] = {entry_point}
    queue = [entry_point]
    while queue:
        for name in dependencies.get(queue.pop(0), ()):
            if name not in reached:
                reached.add(name)
                queue.append(name)
    return reached


def _imports_and_definitions(code: str, entry_point: str | None) -> str:
    """Step 2 on code that parses: the imports, then the kept definitions, one per line."""
    module = ast.parse(code)
    imports: list[ast.stmt] = []
    definitions: list[tuple[str | None, ast.stmt]] = []
    seen: set[str | None] = set()  # evalplus' class, function and variable names together

    for statement in module.body:
        if isinstance(statement, ast.Import) or (
                isinstance(statement, ast.ImportFrom) and statement.module != "__future__"):
            imports.append(statement)
        elif isinstance(statement, ast.ClassDef) and not statement.decorator_list:
            if statement.name not in seen:
                definitions.append((statement.name, statement))
                seen.add(statement.name)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and not statement.decorator_list:
            if statement.name not in seen and _has_return(statement):
                definitions.append((statement.name, statement))
                seen.add(statement.name)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            name = _assignment_name(statement)
            if name not in seen:
                definitions.append((name, statement))
                seen.add(name)

    if entry_point:
        reached = _reachable(entry_point, {name: set(_identifiers(node)) for name, node in definitions})
        definitions = [(name, node) for name, node in definitions if name in reached]
    return "\n".join(ast.get_source_segment(code, node) or "" for node in imports + [n for _, n in definitions])


def sanitize(code: str, entry_point: str | None = None) -> str:
    """evalplus' `sanitize`: the program evalplus would run for this completion."""
    stretch = longest_parsable_stretch(code)
    if not parses(stretch):  # a single line, when no stretch of two or more parses
        return stretch
    kept = _imports_and_definitions(stretch, entry_point).strip()
    return kept if kept else stretch
