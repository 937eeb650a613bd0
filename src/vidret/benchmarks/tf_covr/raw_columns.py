"""TF-CoVR's raw files: the columns each CSV of a release must (and may) have.

The one declaration of them: the builder checks a CSV's header against it, and README.md's
section "Bring your own release" is rendered from it (`vidret.benchmarks.raw_files`).
Facts from the public release (`ucf-crcv/TF-CoVR` on the Hugging Face Hub, paper arXiv
2506.05274, loaders in github.com/UCF-CRCV/TF-CoVR): train names one target per row and keys its
modification text by the target label; val/test list every valid target and write the text plain.
"""

from __future__ import annotations

from vidret.benchmarks.raw_files import RawColumn, RawFile

LAYOUT = (
    "Three CSV files (UTF-8, with a header row), at the release folder's root or under `annotations/`, "
    "as the Hub release has them. Videos are optional: a flat folder `FineGD_videos/<stem>.mp4`. A clip "
    "is named by its file stem, FineGym `<youtube id>_E_<6 digits>_<6 digits>_A_<4 digits>_<4 digits>` "
    "or FineDiving `<folder>_<index>`; a trailing `.mp4` is accepted. Labels are FineGym element ids "
    "(`'0'` to `'287'`) or FineDiving dive codes (`407c`)."
)

_QUERY_VIDEO = RawColumn("query_video", "the query clip's stem", "01_12")
_TARGET_VIDEO = RawColumn(
    "target_video", "the target clip's stem (the split's gallery is every distinct `target_video`)", "01_27"
)
_DICT_TEXT = "{'407c': {'modification': 'Change the dive into a 407c.'}}"

TRAIN_CSV = RawFile(
    files=("train_finegd.csv",),
    format="csv",
    holds="one row per (query clip, target clip) pair.",
    columns=(
        _QUERY_VIDEO,
        _TARGET_VIDEO,
        RawColumn(
            "modification",
            "how the target differs from the query: a Python dict literal keyed by the target label, "
            "`{'<label>': {'modification': '<text>'}}` (as released), or plain text",
            _DICT_TEXT,
        ),
        RawColumn("label1", "the query clip's label", "107b", required=False),
        RawColumn(
            "label2",
            "the target clip's label: picks the dict entry when `modification` has several; needed "
            "when `modification` is plain text",
            "407c",
            required=False,
        ),
    ),
    notes=(
        "An unnamed first column (a pandas index) and any other column are ignored.",
        "The query id of a train row is `train-<row number>` (seven digits).",
    ),
)

EVAL_CSV = RawFile(
    files=("val_finegd.csv", "test_finegd.csv"),
    format="csv",
    holds="one row per query (a query clip and a modification text) with every valid target.",
    columns=(
        RawColumn("query_id", "the query's id, unique within the file (the release numbers them 0, 1, ...)", "0"),
        _QUERY_VIDEO,
        RawColumn(
            "target_video",
            "the row's own target clip's stem: one of `target_videos_ids`, counted by the official "
            "Recall@K; the split's gallery is every distinct `target_video`",
            "01_27",
        ),
        RawColumn(
            "target_videos_ids",
            "every valid target clip's stem, as a Python list literal",
            "['01_27', '01_31']",
        ),
        RawColumn(
            "modification",
            "how the targets differ from the query: plain text (as released, and as the official "
            "val/test loaders read it) or the train file's dict literal",
            "Change the dive into a 407c.",
        ),
    ),
    notes=("An unnamed first column (a pandas index) and any other column are ignored.",),
)

#: Every raw file of a TF-CoVR release, in README order.
RAW_FILES = (TRAIN_CSV, EVAL_CSV)
