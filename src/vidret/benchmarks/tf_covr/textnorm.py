"""The TF-CoVR official protocol's text preprocessing: its evaluation code rewrites every
modification text before the text encoder sees it.

The protocol names it (``TaskRules.text_normalization = "tf-covr-official"``); the benchmark
declares the name (`Benchmark.text_normalizations`) and the planner finds it with
`vidret.benchmarks.get_normalizer`.
"""

from __future__ import annotations

import re

# The official TF-CoVR loaders spell out the half-steps 0.5 .. 7 (and nothing else).
_UNITS = ("one", "two", "three", "four", "five", "six", "seven")
_HALF_STEPS: dict[float, str] = {0.5: "half"}
for _whole, _word in enumerate(_UNITS, start=1):
    _HALF_STEPS[float(_whole)] = _word
    if _whole < len(_UNITS):
        _HALF_STEPS[_whole + 0.5] = f"{_word} and a half"

# A whole number or a decimal standing as a word of its own ("1.5" yes; "407c", "vault_58" no).
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_STRIPPED = re.compile(r"[!\"()*#:;~]")
_SPACES = re.compile(r"\s{2,}")
TFCOVR_MAX_WORDS = 30


def number_words(text: str) -> str:
    """Spell out the numbers of `text` the way the TF-CoVR loaders do.

    Numbers equal to a half-step from 0.5 to 7 become words ("1.5" and "1.50" → "one and a half",
    "3" and "3.0" → "three", "0.5" → "half"); every other number is left as written.

    Args:
        text: a modification text.

    Returns:
        The text with those numbers replaced.
    """
    return _NUMBER.sub(lambda m: _HALF_STEPS.get(float(m.group(0)), m.group(0)), text)


def tfcovr_official(text: str, max_words: int = TFCOVR_MAX_WORDS) -> str:
    """The TF-CoVR official text preprocessing: numbers to words, lowercase, strip, first 30 words.

    In order: `number_words`; lowercase; each of ``!"()*#:;~`` becomes a space; runs of two or
    more whitespace characters become one space; surrounding spaces are dropped; words (split on
    single spaces) after the first `max_words` are cut.

    Args:
        text: a modification text.
        max_words: words kept.

    Returns:
        The normalised text (may be empty when `text` holds only stripped characters).

    Raises:
        TypeError: `text` is not a string.

    Example:
        >>> tfcovr_official("Do (2.5) twists: then 1 more!")
        'do two and a half twists then one more'
    """
    if not isinstance(text, str):
        raise TypeError(f"a modification text must be a string, got {type(text).__name__}")
    text = _STRIPPED.sub(" ", number_words(text).lower())
    text = _SPACES.sub(" ", text).rstrip("\n").strip(" ")
    words = text.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else text
