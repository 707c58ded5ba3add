"""Metrics, the weekly report and exports (built on the archive; see the reports issue)."""
