import pytest
from mmengine.registry import DefaultScope

from tests.helpers import LLM_KINDS


@pytest.fixture(params=LLM_KINDS)
def llm_kind(request):
    """Each language-model family: OPT, T5 and Vicuna (InstructBLIP's)."""
    return request.param


@pytest.fixture
def mmaction_scope():
    # Datasets build their pipeline in the default scope; the Runner sets
    # it from the config's ``default_scope = 'mmaction'``.
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield
