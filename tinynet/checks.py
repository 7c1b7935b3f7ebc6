"""Argument checks that several modules share, so that their messages read alike."""

from __future__ import annotations

import numpy as np


def int_at_least(name: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low``, or a ValueError "<name> must be an int >= <low>, got
    <value>". NumPy integers count (``len(x) // 2`` of an array shape is one); bools do not,
    although Python counts True as 1. ``name`` says whose argument it is, as in
    ``"EarlyStopping: patience"``."""
    if (isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer)
            or value < low):
        shown = value.item() if isinstance(value, np.generic) else value  # 0, not np.int64(0)
        raise ValueError(f"{name} must be an int >= {low}, got {shown!r}")
    return int(value)
