"""The docsite page of the event source mendix.private_cloud.mx_packages, made from its DOCUMENTATION and EXAMPLES.

ansible-doc cannot show event sources, so the page is kept in docs/docsite/rst/ and made from the source itself:
`python3 tools/eda_doc.py` writes it, and a unit test fails when the page and the source disagree.
"""

import io
import os
import re
import sys
import tokenize

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "mx_packages.py")
PAGE = os.path.join(ROOT, "docs", "docsite", "rst", "event_source_mx_packages.rst")


def plain(text):
    """Ansible's markup (O(), V(), E(), C(), I(), B()) as reStructuredText literals and emphasis."""
    text = re.sub(r"\b[OVECR]\(([^)]*)\)", r"``\1``", str(text))
    text = re.sub(r"\bI\(([^)]*)\)", r"*\1*", text)
    return re.sub(r"\bB\(([^)]*)\)", r"**\1**", text)


def constants(source):
    """The source's module-level string constants, read without importing it (it needs aiohttp, which the unit
    tests' environments of the older ansible-core releases and the oldest libraries do not have).

    Read with tokenize rather than ast: on Python 3.11 before 3.11.9, ast.parse shares its recursion counter between
    threads, so a parse beside any thread that formats a traceback (which parses too) can fail with SystemError."""
    with open(source, encoding="utf-8") as handle:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(handle.read()).readline)
                  if t.type not in (tokenize.NL, tokenize.COMMENT)]
    found = {}
    for index, token in enumerate(tokens[:-3]):
        if token.type != tokenize.NAME or token.start[1] != 0 or tokens[index + 1].string != "=":
            continue
        parts, rest = [], index + 2
        while tokens[rest].type == tokenize.STRING and not re.match(r"(?i)[rbu]*f", tokens[rest].string):
            parts.append(tokens[rest].string)
            rest += 1
        if parts and tokens[rest].type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            # a string literal's token is evaluated alone, without builtins: nothing but the literal can run
            found[token.string] = "".join(eval(compile(part, source, "eval"), {"__builtins__": {}})  # pylint: disable=eval-used
                                          for part in parts)
    return found


def render(source=SOURCE):
    """The page's text."""
    module = constants(source)
    doc = yaml.safe_load(module["DOCUMENTATION"])
    title = "mendix.private_cloud.mx_packages event source"
    lines = [".. _ansible_collections.mendix.private_cloud.docsite.event_source_mx_packages:", "", title, "=" * len(title), "",
             ".. This page is made from the source's DOCUMENTATION by tools/eda_doc.py; edit the source, not the page.", "",
             plain(doc["short_description"]), ""]
    for paragraph in doc["description"]:
        lines += ["- " + plain(paragraph), ""]
    lines += ["Options", "-------", "", ".. list-table::", "   :header-rows: 1", "   :widths: 20 15 15 50", "",
              "   * - Option", "     - Type", "     - Default", "     - Description"]
    for name, option in doc["options"].items():
        kind = option.get("type", "str") + (" of %s" % option["elements"] if option.get("elements") else "")
        default = option.get("default")
        description = option["description"]
        description = " ".join(plain(d) for d in description) if isinstance(description, list) else plain(description)
        lines += ["   * - ``%s``" % name, "     - %s" % kind,
                  "     - %s" % ("``%s``" % str(default).lower() if isinstance(default, bool) else
                                 "``%s``" % default if default is not None else ""),
                  "     - %s" % description]
    lines += ["", "Event", "-----", "", "Each event is a mapping::", "",
              "    {\"type\": \"%s\", \"app_id\": \"...\", \"package\": {\"id\": \"...\", \"app_id\": \"...\"," % module["EVENT_TYPE"],
              "     \"model_version\": \"...\", \"runtime_version\": \"...\", \"file_name\": \"...\", \"file_size\": 1234,",
              "     \"created_on\": \"...\", \"expiry_date\": \"...\", \"description\": \"...\", \"branch\": \"main\",",
              "     \"revision\": \"...\"}}", "",
              "``branch`` and ``revision`` are null when the package does not tell them (the collection's identity rules).",
              "", "Example", "-------", "", ".. code-block:: yaml", ""]
    lines += ["    " + line if line else "" for line in module["EXAMPLES"].strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def main():
    with open(PAGE, "w", encoding="utf-8") as handle:
        handle.write(render())
    print(PAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
