"""Thin Prefect tasks over eat_core (one core call each). Filled in by issue 6."""
