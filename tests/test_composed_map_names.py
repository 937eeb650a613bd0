"""One name for TF-CoVR's designated target (issue 21.6): `designated_targets` in the kernel
(`vidret.scoring.composed_map`), the evaluate module, its card and its error messages; the old
module spelling `designated` still works, with a DeprecationWarning."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import evaluate
import pytest

from vidret.scoring import composed_map

REPO = Path(__file__).resolve().parents[1]
PREDICTIONS, REFERENCES = [["a", "a", "x", "b", "q"]], [["a", "b"]]


@pytest.fixture(scope="module")
def module():
    return evaluate.load(str(REPO / "metrics" / "composed_map"))


def test_official_protocol_without_designated_targets_names_the_argument_to_pass(module):
    with pytest.raises(ValueError, match=r"protocol='official' needs designated_targets: one id per query"):
        module.compute(predictions=PREDICTIONS, references=REFERENCES, protocol="official")
    with pytest.raises(ValueError, match="needs designated_targets"):  # the kernel says the same name
        composed_map(PREDICTIONS, REFERENCES, count_repeats=True)


def test_module_takes_the_kernels_name(module):
    assert "designated_targets" in inspect.signature(composed_map).parameters
    got = module.compute(predictions=PREDICTIONS, references=REFERENCES, k_values=(5,), recall_k_values=(5,),
                         protocol="official", designated_targets=["a"])
    assert got == {"mAP@5": 137.5, "R@5": 200.0, "num_queries": 1, "num_failed": 0}


def test_old_spelling_warns_and_gives_the_same_numbers(module):
    expected = module.compute(predictions=PREDICTIONS, references=REFERENCES, protocol="official", designated_targets=["a"])
    with pytest.warns(DeprecationWarning, match="`designated` is deprecated, pass `designated_targets`"):
        old = module.compute(predictions=PREDICTIONS, references=REFERENCES, protocol="official", designated=["a"])
    assert old == expected
    with pytest.raises(TypeError, match="pass designated_targets only"):
        module.compute(predictions=PREDICTIONS, references=REFERENCES, protocol="official",
                       designated=["a"], designated_targets=["a"])


def test_card_and_docstring_use_one_name():
    card = (REPO / "metrics" / "composed_map" / "README.md").read_text(encoding="utf-8")
    script = (REPO / "metrics" / "composed_map" / "composed_map.py").read_text(encoding="utf-8")
    for text in (card, script):
        assert "designated_targets" in text
        # `designated` appears only as the deprecated old name, never as the argument to pass.
        assert not re.search(r"\bdesignated=\[", text)
    assert "**designated_targets**" in card and "**designated**" not in card
