"""The project's exception hierarchy root.

Every error CCEI Market Lab raises on purpose derives from :class:`CceiError`, so the CLI can turn
any of them into one line and a non-zero exit. Each package defines its own named subclasses next
to the code that raises them; this module only holds the root, because ``market`` is the package
every other one may import.
"""

from __future__ import annotations

__all__ = ["CceiError", "MechanismError"]


class CceiError(Exception):
    """Base of every deliberate CCEI Market Lab error.

    ``exit_code`` is what the CLI exits with when this error reaches it.
    """

    exit_code: int = 1


class MechanismError(CceiError, ValueError):
    """A market mechanism was given input it cannot work with (e.g. a negative quantity)."""

    exit_code = 2
