"""Each sub-package of vidcap_mm imports only the sub-packages below it.

The rules (README, "How the code is laid out"): models/ imports nothing
from datasets/, evaluation/ or engine/; evaluation/ nothing from datasets/
or models/; engine/ wires them; apis/ and visualization/ sit above models/
and datasets/. Every import statement of every module is read, those inside
functions included, absolute (``vidcap_mm.x``) and relative (``..x``).
"""

import ast
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import pytest

from tests.helpers import REPO

PACKAGE = osp.join(REPO, 'vidcap_mm')

# Sub-package -> the other sub-packages it may import.
MAY_IMPORT = {
    'datasets': set(),
    'models': set(),
    'evaluation': set(),
    'visualization': {'datasets'},
    'apis': {'datasets', 'models', 'visualization'},
    'engine': {'datasets', 'models', 'evaluation', 'visualization'},
}


def imported_modules(path: str, module: str) -> List[Tuple[int, str]]:
    """``(line, dotted name)`` of every import in a module file.

    Args:
        path (str): The file.
        module (str): Its dotted name (``vidcap_mm.models.captioner``);
            relative imports are resolved against it.
    """
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    is_package = osp.basename(path) == '__init__.py'
    here = module.split('.') if is_package else module.split('.')[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.append((node.lineno, name))
            # ``from . import models`` imports sub-modules by name.
            found += [(node.lineno, f'{name}.{a.name}') for a in node.names]
    return found


def sub_package(module: str) -> Optional[str]:
    """``models`` for ``vidcap_mm.models...``; None outside vidcap_mm or
    for its top level."""
    parts = module.split('.')
    if parts[0] != 'vidcap_mm' or len(parts) < 2:
        return None
    return parts[1] if parts[1] in MAY_IMPORT else None


def forbidden_imports(root: str, name: str = 'vidcap_mm') -> List[str]:
    """``file:line: a imports b`` for each import the rules forbid."""
    problems = []
    for folder, _, files in os.walk(root):
        for file in sorted(files):
            if not file.endswith('.py'):
                continue
            path = osp.join(folder, file)
            relative = osp.relpath(path, osp.dirname(root))
            module = relative[:-3].replace(os.sep, '.')
            module = module.removesuffix('.__init__')
            owner = sub_package(module)
            if owner is None:
                continue
            seen = set()
            for line, target in imported_modules(path, module):
                other = sub_package(target)
                if other in (None, owner) or other in MAY_IMPORT[owner]:
                    continue
                if (line, other) not in seen:  # once per statement
                    seen.add((line, other))
                    problems.append(
                        f'{relative}:{line}: {owner}/ imports {target} '
                        f'({other}/)'
                    )
    return problems


def test_every_sub_package_is_ruled():
    folders = {
        d
        for d in os.listdir(PACKAGE)
        if osp.isfile(osp.join(PACKAGE, d, '__init__.py'))
    }
    assert folders == set(MAY_IMPORT)


def test_no_sub_package_imports_one_above_it():
    assert forbidden_imports(PACKAGE) == []


FORBIDDEN_SOURCES: Dict[str, str] = {
    'absolute': 'from vidcap_mm.engine.hooks import TrainableWeightsHook\n',
    'relative': 'from ..datasets.synthetic import parse_caption\n',
    'in a function': (
        'def words():\n'
        '    from vidcap_mm.datasets import SYNTHETIC_VOCABULARY\n'
        '    return SYNTHETIC_VOCABULARY\n'
    ),
    'a sub-module by name': 'from .. import evaluation\n',
}


@pytest.mark.parametrize('kind', sorted(FORBIDDEN_SOURCES))
def test_a_forbidden_import_is_found(tmp_path, kind):
    """The walk sees each way of writing an import that runs upward."""
    package = tmp_path / 'vidcap_mm'
    for sub in MAY_IMPORT:
        (package / sub).mkdir(parents=True)
        (package / sub / '__init__.py').write_text('')
    (package / '__init__.py').write_text('from . import models\n')
    (package / 'models' / 'ok.py').write_text('from .other import x\n')
    (package / 'models' / 'bad.py').write_text(FORBIDDEN_SOURCES[kind])
    problems = forbidden_imports(str(package))
    assert len(problems) == 1, problems
    assert problems[0].startswith(osp.join('vidcap_mm', 'models', 'bad.py'))
    assert 'models/ imports vidcap_mm.' in problems[0]
