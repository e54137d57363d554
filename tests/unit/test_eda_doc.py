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
