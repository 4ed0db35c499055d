"""Helpers shared by the tests: paths, the CLI runner, scripted LLMs, DuckDB row readers, a real llama.cpp server.

Importable as ``support`` because pytest puts ``tests/`` on ``sys.path`` (``pythonpath`` in pyproject.toml), so a
test in any sub-folder writes ``from support.cli import run_cli``.
"""
