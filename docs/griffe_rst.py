"""Griffe extension for the API reference: Sphinx roles in docstrings become Markdown code.

The docstrings use a few reStructuredText roles (``:math:`\\nu\\Delta u```, ``:mod:`.stepping```,
``:func:`solve```); Markdown would print the role names. Each ``:role:`text``` becomes
```text``` (a leading ``~`` or ``.`` of a cross-reference is kept as written).
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:math|mod|func|class|meth|attr|obj|data|exc|ref|py:\w+):`([^`]+)`")


class SphinxRolesToCode(griffe.Extension):
    """Rewrite ``:role:`text``` as ```text``` in every docstring griffe loads."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(lambda m: f"`{m.group(1)}`", obj.docstring.value)
