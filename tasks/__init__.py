"""Thin Prefect tasks over eat_core (one core call each), with retries and cache policies."""
