"""The docsite page of the event source mendix.private_cloud.mx_packages, made from its DOCUMENTATION and EXAMPLES.

ansible-doc cannot show event sources, so the page is kept in docs/docsite/rst/ and made from the source itself:
`python3 tools/eda_doc.py` writes it, and a unit test fails when the page and the source disagree.
"""

import ast
import os
import re
import sys

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
    tests' environments of the older ansible-core releases and the oldest libraries do not have)."""
    with open(source, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), source)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
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
