"""campaign-monitor: watch a campaign's hashtags and keep every public post in a trusted archive."""

__version__ = "0.1.0"
