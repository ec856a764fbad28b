import pytest

from tests.helpers import LLM_KINDS


@pytest.fixture(params=LLM_KINDS)
def llm_kind(request):
    """Each language-model family: OPT, T5 and Vicuna (InstructBLIP)."""
    return request.param
