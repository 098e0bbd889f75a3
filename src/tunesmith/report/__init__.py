"""The run report: one self-contained HTML page with tables and embedded plots."""

from tunesmith.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
