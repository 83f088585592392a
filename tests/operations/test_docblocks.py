"""The documents' block reader and transcript checker: what they accept and what they catch."""

from __future__ import annotations

import pytest
from tests.operations.docblocks import blocks_of_no_known_kind, code_blocks, output_matches, transcript_steps
from tests.operations.test_docs_run import run_document


def write(tmp_path, text: str):
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    return doc


def test_blocks_their_kinds_lines_and_files(tmp_path):
    doc = write(
        tmp_path,
        "# T\n\n```sh\necho one\n```\n\n- a list item\n\n      indented in a list: not code\n\n"
        "```python file=ehr.py\nprint(1)\n```\n\ntext\n\n    echo indented\n\n```\nbare\n```\n",
    )
    blocks = code_blocks(doc)
    assert [(b.kind, b.line, b.indented) for b in blocks] == [
        ("sh", 4, False),
        ("python", 12, False),
        ("", 17, True),
        ("", 20, False),
    ]
    assert blocks[1].options == {"file": "ehr.py"} and blocks[2].text == "echo indented\n"


def test_a_transcript_command_runs_on_until_bash_reads_it_whole(tmp_path):
    doc = write(
        tmp_path,
        "```console\n$ jq '{a: 1,\n    b: 2}' x.json\n{\"a\":1}\n$ echo a \\\n  b\na b\n$ true\n```\n",
    )
    steps = transcript_steps(code_blocks(doc)[0])
    assert [(s.command, s.expected, s.line) for s in steps] == [
        ("jq '{a: 1,\n    b: 2}' x.json", ['{"a":1}'], 2),
        ("echo a \\\n  b", ["a b"], 5),
        ("true", [], 8),
    ]


def test_output_is_compared_line_by_line_but_for_volatile_values():
    shown = ['{"id":"req_ddd6d793e59acb20f6cb","date":"2026-12-01","digest":"e70b10bb8c02"}']
    assert output_matches(shown, '{"id":"req_0123456789abcdef0123","date":"2026-12-01","digest":"441b7f844a7b"}\n')
    assert not output_matches(shown, '{"id":"req_0123456789abcdef0123","date":"2027-01-05","digest":"441b7f844a7b"}')
    assert output_matches(shown, '{"id":"req_01234567","date":"2027-01-05","digest":"441b7f844a7b"}', any_date=True)
    assert not output_matches(['{"decision":"A1"}'], '{"decision":"A4"}')
    assert not output_matches(["a", "b"], "a\n")  # a line missing
    assert not output_matches(["a"], "a\nb\n")  # a line more
    assert output_matches([], "")


def test_elisions_stand_for_text_within_a_line_or_for_lines():
    assert output_matches(
        ["head", "…", "7 disagreements (169 items checked)"], "head\nx\ny\n7 disagreements (169 items checked)\n"
    )
    assert output_matches(["head", "...", "tail"], "head\ntail\n")
    assert output_matches(['{"options":[...]}}'], '{"options":[{"code":"coverage-info"}]}}')
    assert not output_matches(["head", "…", "tail"], "head\nx\n")
    assert output_matches(["valid (8 questions, digest …)"], "valid (8 questions, digest 4599c6ef)")


def test_a_wrong_transcript_or_a_failing_block_fails_the_run(tmp_path):
    """The harness catches a transcript whose output changed, and a failing command nobody shows failing."""
    wrong = write(tmp_path, '```console\n$ echo \'{"decision": "approved"}\'\n{"decision": "denied"}\n```\n')
    with pytest.raises(pytest.fail.Exception, match=r"line 2: \$ echo"):
        run_document(wrong, tmp_path / "a")
    silent_failure = write(tmp_path, "```console\n$ false\n```\n")
    with pytest.raises(pytest.fail.Exception, match="exit 1, not shown as a failure"):
        run_document(silent_failure, tmp_path / "b")
    shown_failure = write(tmp_path, "```console\n$ false\n$ echo $?\n1\n```\n")
    run_document(shown_failure, tmp_path / "c")
    failing_block = write(tmp_path, "```sh\nls no-such-file\necho never\n```\n")
    with pytest.raises(pytest.fail.Exception, match="a shell block failed"):
        run_document(failing_block, tmp_path / "d")


def test_a_file_block_is_written_before_the_commands_after_it(tmp_path):
    doc = write(
        tmp_path,
        "```python file=hello.py\nprint('hello from the file')\n```\n\n"
        "```console\n$ .venv/bin/python hello.py\nhello from the file\n```\n",
    )
    run_document(doc, tmp_path / "a")


def test_a_block_of_no_known_kind_is_reported_with_its_place(tmp_path):
    doc = write(
        tmp_path, "```bash\nmake run\n```\n\nText.\n\n    priorauth demo\n\n```\nbare\n```\n\n```console\n$ true\n```\n"
    )
    assert blocks_of_no_known_kind([doc]) == [
        "doc.md:2: kind 'bash'",
        "doc.md:7: an indented code block: fence it",
        "doc.md:10: kind ''",
    ]
