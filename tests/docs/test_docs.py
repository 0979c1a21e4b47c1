"""Every ```python block in README.md and docs/*.md runs, file by file, in one namespace per file.

A block fenced as ```python notest is shown but not run (use it only for code that needs a remote
platform or cluster). Each file runs in a fresh temporary working directory.
"""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.md'))]
FENCE = re.compile(r'^```python([^\n]*)\n(.*?)^```', re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding='utf-8')
    blocks = []
    for match in FENCE.finditer(text):
        if 'notest' in match.group(1):
            continue
        line = text.count('\n', 0, match.start()) + 2
        blocks.append((line, match.group(2)))
    return blocks


@pytest.mark.parametrize('path', DOC_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_doc_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blocks = python_blocks(path)
    if not blocks:
        pytest.skip(f'{path.name} has no python blocks')
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {'__name__': f'doc_{path.stem}'}
    for line, code in blocks:
        compiled = compile(code, f'{path.name}:{line}', 'exec')
        exec(compiled, namespace)  # executing our own documentation is the point


def test_readme_shows_exactly_the_two_setup_commands():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert 'make demo' in readme and 'make test' in readme
    assert os.access(ROOT / '.ci' / 'run', os.X_OK)
