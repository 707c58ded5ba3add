"""Charts as inline SVG (matplotlib), so the HTML report is one file that needs no network."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "campaign-monitor"  # the same data draws the same file
matplotlib.rcParams["svg.fonttype"] = "none"

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

COLOURS = {"mastodon": "#6364ff", "reddit": "#ff4500", "bluesky": "#1185fe"}


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def daily_volume(daily: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(8, 3))
    bottom = pd.Series(0, index=daily.index)
    labels = [d.strftime("%a %d") for d in daily.index]
    for platform in daily.columns:
        ax.bar(labels, daily[platform], bottom=bottom, label=platform, color=COLOURS.get(platform))
        bottom = bottom + daily[platform]
    ax.set_ylabel("posts")
    ax.set_title("Posts per day, by platform")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    if len(labels) > 14:
        ax.set_xticks(range(0, len(labels), max(1, len(labels) // 10)))
    return _svg(fig)


def participants(new: int, returning: int) -> str:
    fig, ax = plt.subplots(figsize=(4, 2.2))
    ax.barh(["new", "returning"], [new, returning], color=["#2a9d8f", "#8d99ae"])
    ax.set_title("Participants: new and returning")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def engagement(series: pd.Series) -> str:
    fig, ax = plt.subplots(figsize=(8, 2.5))
    ax.plot([d.strftime("%a %d") for d in series.index], series.values, marker="o", color="#e76f51")
    ax.set_title("Engagement per day (likes + reposts + replies + quotes)")
    ax.spines[["top", "right"]].set_visible(False)
    if len(series) > 14:
        ax.set_xticks(range(0, len(series), max(1, len(series) // 10)))
    return _svg(fig)
