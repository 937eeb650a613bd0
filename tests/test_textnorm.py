"""The TF-CoVR official text preprocessing (vidret.benchmarks.tf_covr.textnorm), found by name."""

from __future__ import annotations

import pytest

from vidret.benchmarks import get_normalizer
from vidret.benchmarks.tf_covr.textnorm import number_words, tfcovr_official


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", "one and a half"),
        ("0.5", "half"),
        ("2", "two"),
        ("2.0 and 2.50", "two and two and a half"),  # compared as numbers: 2.50 == 2.5
        ("6.5", "six and a half"),
        ("7", "seven"),
        ("7.5", "7.5"),  # beyond the official table: left as written
        ("8 or 10", "8 or 10"),
        ("0", "0"),
        ("407c", "407c"),  # a FineDiving dive code: no word boundary after the digits
        ("vault_58", "vault_58"),  # "_" is a word character: not a number of its own
        ("1.5x", "one.5x"),  # "1.5" needs a boundary after it; "1" then stands alone
        ("turn 3 times", "turn three times"),
    ],
)
def test_number_words(text, expected):
    assert number_words(text) == expected


def test_tfcovr_official_full_pipeline():
    # numbers first ("1.5" -> "one and a half", "3" -> "three"), then lowercase, then each of
    # !"()*#:;~ becomes a space, runs of whitespace collapse, ends are trimmed.
    text = 'Add (1.5) Twists: "Pike"; then 3 more!!  ~#*'
    assert tfcovr_official(text) == "add one and a half twists pike then three more"


def test_tfcovr_official_keeps_the_first_30_words():
    words = [f"w{i}" for i in range(40)]
    assert tfcovr_official(" ".join(words)) == " ".join(words[:30])
    # Word count is taken after the numbers are spelled out: "1.5" becomes four words.
    assert tfcovr_official("1.5 " + " ".join(words)).split(" ") == ["one", "and", "a", "half"] + words[:26]


def test_tfcovr_official_keeps_other_punctuation_and_single_tabs():
    # Periods, commas and hyphens survive; a single tab is whitespace but not a run of two.
    assert tfcovr_official("Same dive, but 1.5-somersault.\tDone") == "same dive, but one and a half-somersault.\tdone"


def test_tfcovr_official_may_leave_nothing():
    assert tfcovr_official("!!! ;;") == ""


def test_get_normalizer():
    assert get_normalizer(None) is None
    assert get_normalizer("tf-covr-official") is tfcovr_official
    with pytest.raises(ValueError, match="unknown text normalisation 'nope'"):
        get_normalizer("nope")
    with pytest.raises(TypeError, match="must be a string"):
        tfcovr_official(None)  # type: ignore[arg-type]
