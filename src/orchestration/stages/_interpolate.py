"""`${name}` interpolation of stage configuration strings (spec §5.2)."""

from __future__ import annotations

import re
from collections.abc import Mapping

# One or more characters other than `}` between `${` and `}`: `${}` is not a placeholder,
# there is no escaping and no nesting, and the key is taken verbatim (`${ a }` looks up " a ").
_PLACEHOLDER = re.compile(r"\$\{[^}]+\}")


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Replace every `${name}` in `text` by the value of variable `name`.

    Args:
        text: a string leaf of a stage configuration.
        variables: the instance variables.

    Returns:
        The text with every placeholder replaced; an undefined variable is replaced by `""`
        (no error, spec §5.2), which then lets the field's default apply (§5.1).
    """
    return _PLACEHOLDER.sub(lambda match: variables.get(match.group(0)[2:-1], ""), text)
