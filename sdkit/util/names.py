"""Name matching shared by every module that looks names up.

Model variables, scenario keys and table columns are matched the way Vensim
users expect: case, repeated spaces and underscores do not matter. When a name is
unknown, :func:`close_matches` gives the suggestions that errors show.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["normalize_name", "close_matches"]


def normalize_name(name: str) -> str:
    """Canonical form of a name: lower case, underscores as spaces, single spaces.

    Examples
    --------
    >>> normalize_name('  Talent_Headcount ')
    'talent headcount'
    """
    return " ".join(str(name).strip().strip('"').replace("_", " ").split()).lower()


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates that look like ``name``, best first.

    Parameters
    ----------
    name : str
        The unknown name.
    candidates : iterable of str
        The valid names, as they should be shown to the user.
    n : int
        Maximum number of suggestions.

    Returns
    -------
    list of str
        Candidates in their original spelling.
    """
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(normalize_name(candidate), str(candidate))
    found = difflib.get_close_matches(normalize_name(name), list(by_key), n=n, cutoff=0.6)
    return [by_key[key] for key in found]
