"""One colour per strategy, shared by the dashboard's charts and the simulator's PNGs.

A strategy keeps its colour whatever else is plotted beside it: the colour comes from the
strategy's place in the registry, not from its place in one chart. Names the registry does not
know (a run stored by an older banditlb) get a colour from a stable hash of the name.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from banditlb.strategies.registry import strategy_names

PALETTE: tuple[str, ...] = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#7f7f7f",  # grey
    "#bcbd22",  # olive
    "#17becf",  # cyan
    "#aec7e8",  # light blue
    "#ffbb78",  # light orange
    "#98df8a",  # light green
    "#ff9896",  # light red
    "#c5b0d5",  # light purple
    "#c49c94",  # light brown
    "#f7b6d2",  # light pink
    "#393b79",  # navy
    "#637939",  # moss
    "#843c39",  # maroon
)
"""Twenty distinct colours (matplotlib's tab10 and tab20 light shades, plus three dark ones)."""


def strategy_colour(name: str) -> str:
    """The strategy's colour as `#rrggbb`: by registry position, else by a hash of the name."""
    names = strategy_names()
    if name in names:
        return PALETTE[names.index(name) % len(PALETTE)]
    return PALETTE[zlib.crc32(name.encode()) % len(PALETTE)]


def strategy_colours(names: Iterable[str]) -> dict[str, str]:
    """`{name: colour}` for every name given."""
    return {name: strategy_colour(name) for name in names}
