"""Reading finished runs back and showing them: tables, exports, comparisons, plots, reports."""
