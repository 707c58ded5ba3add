"""Charts as inline SVG (matplotlib), so the HTML report is one file that needs no network.

Figures are made with `matplotlib.figure.Figure`, not pyplot: no global state, nothing to
close, and pyplot's import (half a second) is never paid. Days are numbered positions on
the x axis, never category labels: "Sat 05" comes round every month and a categorical axis
would pile those days onto one bar. A period longer than LONG_PERIOD days is drawn by
week, so a year is 52 bars, not 365 of them for each platform.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = {"mastodon": "#6364ff", "reddit": "#ff4500", "bluesky": "#1185fe"}
LONG_PERIOD = 62  # days; longer periods are charted by week
TICKS = 10


def _figure(width: float, height: float, left: float = 0.75, right: float = 0.2) -> Figure:
    """A new figure with fixed margins (inches: `left` for the y labels, `right` for a legend
    beside the plot). matplotlib is imported on the first: it takes over a second, and every
    command imports this module, but only a report draws.

    Fixed margins, not `bbox_inches="tight"`: that draws every figure twice to measure it,
    a third of a week's report (0.15 s of 0.5 s of charts on a million posts).
    """
    import matplotlib  # deferred: over a second to import, and only reports draw
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.hashsalt"] = "campaign-monitor"  # the same data draws the same file
    matplotlib.rcParams["svg.fonttype"] = "none"
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=0.5 / height, top=1 - 0.35 / height)
    return fig


def _integers(bins: int | str = "auto"):
    from matplotlib.ticker import MaxNLocator  # deferred with matplotlib (see _figure)

    return MaxNLocator(integer=True, nbins=bins)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _by_week(frame: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Daily values summed by the Monday of their week."""
    days = pd.to_datetime(pd.Index(frame.index))
    weeks = (days - pd.to_timedelta(days.weekday, unit="D")).date
    return frame.groupby(weeks).sum()


def _axis(ax, days: list, weekly: bool) -> None:
    step = max(1, len(days) // TICKS)
    positions = list(range(0, len(days), step))
    ax.set_xticks(positions)
    ax.set_xticklabels([days[i].strftime("w/c %d %b" if weekly else "%a %d %b" if len(days) > 7 else "%a %d")
                        for i in positions], fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def daily_volume(daily: pd.DataFrame) -> str:
    weekly = len(daily) > LONG_PERIOD
    frame = _by_week(daily) if weekly and len(daily.columns) else daily
    fig = _figure(8, 3, right=1.2)  # the legend, beside the bars
    ax = fig.subplots()
    x = list(range(len(frame)))
    bottom = pd.Series(0, index=frame.index)
    for platform in frame.columns:
        ax.bar(x, frame[platform], bottom=bottom, label=platform, color=COLOURS.get(platform), width=0.85)
        bottom = bottom + frame[platform]
    ax.set_ylabel("posts")
    ax.set_title(f"Posts per {'week' if weekly else 'day'}, by platform")
    ax.yaxis.set_major_locator(_integers())
    if len(frame.columns):
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _axis(ax, list(frame.index), weekly)
    return _svg(fig)


def participants(new: int, returning: int) -> str:
    fig = _figure(4, 2.2, left=0.9)  # "returning"
    ax = fig.subplots()
    ax.barh(["new", "returning"], [new, returning], color=["#2a9d8f", "#8d99ae"])
    ax.set_title("Participants: new and returning")
    ax.xaxis.set_major_locator(_integers(4))  # four labels fit the narrow axis, thousands included
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def engagement(series: pd.Series) -> str:
    weekly = len(series) > LONG_PERIOD
    values = _by_week(series) if weekly else series
    fig = _figure(8, 2.5)
    ax = fig.subplots()
    ax.plot(list(range(len(values))), list(values.values), marker="o" if len(values) <= 31 else None,
            color="#e76f51")
    ax.set_title(f"Engagement per {'week' if weekly else 'day'} (likes + reposts + replies + quotes)")
    _axis(ax, list(values.index), weekly)
    return _svg(fig)
