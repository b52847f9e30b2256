"""Sphinx configuration for the pytest-ecr documentation.

Build (warnings are errors): ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
The operations table is generated at build time from the installed botocore ECR model and the
fake's handler registry, so it cannot drift from the code. The build needs no network.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"

# Document the checkout, whether or not it is installed.
sys.path.insert(0, str(ROOT))

project = "pytest-ecr"
author = "pytest-ecr developers"
copyright = "pytest-ecr developers"  # no year: the build must not depend on the date
# Read, not imported: the package's one written version (pyproject.toml takes it from there too).
_version = re.search(
    r'^__version__ = "([^"]+)"', (ROOT / "pytest_ecr" / "__init__.py").read_text(encoding="utf-8"), re.M
)
if _version is None:
    raise RuntimeError("no __version__ in pytest_ecr/__init__.py")
release = version = _version.group(1)

extensions: list[str] = ["sphinx.ext.autodoc"]
# The API reference (api.rst) is generated from the docstrings, so it cannot drift from the code.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
nitpicky = False
root_doc = "index"
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
language = "en"

# furo: its content column scrolls a wide code block sideways instead of cutting it off, and it
# narrows to a phone's width.
html_theme = "furo"
html_title = f"pytest-ecr {release}"
html_last_updated_fmt = None  # no build timestamps in pages
html_copy_source = False

LAYER_UPLOAD = ("InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload")
AWS_API_REFERENCE = "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_{}.html"


def operations_table() -> tuple[str, int, int]:
    """The operations table (reStructuredText), and the implemented and total counts."""
    import botocore
    import botocore.session

    from pytest_ecr.service.catalog import handlers

    operations = sorted(botocore.session.get_session().get_service_model("ecr").operation_names)
    implemented = handlers()
    done = sum(1 for name in operations if name in implemented)
    lines = [
        f"pytest-ecr implements **{done} of the {len(operations)} operations** of the ECR model in the "
        f"installed botocore ({botocore.__version__}).",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 60 40",
        "",
        "   * - Operation",
        "     - Implemented",
    ]
    for name in operations:
        status = "yes" if name in implemented else "no (``NotImplementedByFake``)"
        lines += [f"   * - `{name} <{AWS_API_REFERENCE.format(name)}>`__", f"     - {status}"]
    if not all(name in implemented for name in LAYER_UPLOAD):
        lines[:0] = [
            "The layer upload operations are not implemented: image blobs come from ``ecr.push_image`` "
            "and the ``ecr_seed`` marker. ``PutImage`` with a manifest whose blobs are in the repository "
            "(for example one read back with ``BatchGetImage``, to add a tag) works as in ECR.",
            "",
        ]
    return "\n".join(lines) + "\n", done, len(operations)


def write_generated(app: Any) -> None:
    from sphinx.util import logging

    text, done, total = operations_table()
    GENERATED.mkdir(exist_ok=True)
    target = GENERATED / "operations_table.rst"
    # Rewrite only on change, so an unchanged model does not make Sphinx re-read operations.rst.
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    logging.getLogger(__name__).info(f"pytest-ecr operations: {done} implemented / {total} total")


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", write_generated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
