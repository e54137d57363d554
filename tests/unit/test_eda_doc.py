"""The event source's docsite page is the one its DOCUMENTATION makes (ansible-doc cannot show event sources)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))

import eda_doc  # noqa: E402  pylint: disable=wrong-import-position


def test_the_page_is_made_from_the_source():
    with open(eda_doc.PAGE, encoding="utf-8") as handle:
        assert handle.read() == eda_doc.render(), "run python3 tools/eda_doc.py after changing the source's DOCUMENTATION"


def test_every_option_is_on_the_page():
    page = eda_doc.render()
    for name in ("app_ids", "branches", "state_file", "emit_existing", "max_backoff"):
        assert "``%s``" % name in page


def test_the_source_is_read_without_ast(monkeypatch, tmp_path):
    """ast.parse shares a counter between threads on Python 3.11 before 3.11.9: beside a thread that formats a
    traceback it failed with "AST constructor recursion depth mismatch". The page is made without it."""
    import ast  # pylint: disable=import-outside-toplevel

    def refuse(*args, **kwargs):
        raise SystemError("AST constructor recursion depth mismatch (before=144, after=32)")

    source = tmp_path / "source.py"
    source.write_text('# a comment\nA = "x"\nB = (\n    "y"\n)\nC = r"""one\n""" "two"\nD = f"{A}"\nE = 1\n'
                      'def f():\n    F = "no"\n', encoding="utf-8")
    with monkeypatch.context() as patched:  # only around the calls: pytest itself needs ast
        patched.setattr(ast, "parse", refuse)
        try:
            found, page = eda_doc.constants(str(source)), eda_doc.render()
        except SystemError as error:
            found, page = str(error), ""
    assert found == {"A": "x", "C": "one\ntwo"}
    assert "``app_ids``" in page
