"""One option, one help text: an option several ``eat`` commands take reads the same in each of their --help pages.

Built from the click commands of ``eat_cli.main.app``, so a command that declares its own ``--db`` (or any other
shared option) with a different help fails here; ``eat_cli/options.py`` holds the shared declarations.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, get_origin

import pytest
import typer.main
from conftest import REPO

OWN_MEANING: dict[str, set[str] | None] = {
    "--out": None, "--output": None, "--format": None, "--lang": None,  # a file, a directory, a report: per command
    "--base-model": None, "--batch-size": None, "--epochs": None, "--learning-rate": None,  # extractor/LLM/student
    "--eval-split": None,  # early stopping (train-extractor) or the student's evaluation (distill)
    "--limit": {"eat finetune", "eat eacl harvest"},  # conversations per file, entities; elsewhere sentences
    "--data": {"eat silver", "eat distill"},  # the corpus a teacher labels (and the projection's English source)
    "--split": {"eat silver", "eat distill"},  # the split a teacher labels
}
"""Option names whose meaning differs by command (None: in every command), so their help may differ too."""


def _commands(command, path: str = "eat") -> dict[str, object]:
    if hasattr(command, "commands"):
        found: dict[str, object] = {}
        for name, sub in command.commands.items():
            found.update(_commands(sub, f"{path} {name}"))
        return found
    return {path: command}


def option_helps() -> dict[str, dict[str, str | None]]:
    """{option name: {command path: its help}} over every command of the ``eat`` CLI."""
    from eat_cli.main import app

    helps: dict[str, dict[str, str | None]] = {}
    for path, command in _commands(typer.main.get_command(app)).items():
        for param in command.params:
            if param.param_type_name == "option":
                helps.setdefault(param.opts[0], {})[path] = param.help
    return helps


def disagreements(helps: dict[str, dict[str, str | None]]) -> list[str]:
    """Options whose help differs between commands, outside ``OWN_MEANING``."""
    found = []
    for name, by_command in sorted(helps.items()):
        own = OWN_MEANING.get(name, set())
        shared = {path: text for path, text in by_command.items() if own is not None and path not in own}
        if len(set(shared.values())) > 1:
            found.append(f"{name}: " + "; ".join(f"{path}: {text!r}" for path, text in sorted(shared.items())))
    return found


def test_every_shared_option_has_one_help_text():
    helps = option_helps()
    assert len(helps["--db"]) == 12 and len(helps["--profile"]) == 4  # the walk reaches every command
    assert disagreements(helps) == []
    assert all(text for by_command in helps.values() for text in by_command.values() if text is not None)


def test_every_alias_in_options_is_used_with_its_help():
    """An alias nobody uses is dead code; one whose help no command shows was overridden somewhere."""
    from eat_cli import options

    shown = {text for by_command in option_helps().values() for text in by_command.values()}
    aliases = {name: value.__metadata__[0].help for name, value in vars(options).items()
               if get_origin(value) is Annotated}
    assert len(aliases) >= 20
    assert {name: text for name, text in aliases.items() if text not in shown} == {}


def test_the_check_sees_a_command_with_its_own_help():
    """A planted ``--db`` with its own help in one command is reported, naming both texts."""
    helps = {"--db": {"eat run": "DuckDB workspace file", "eat score": "a stored run"},
             "--out": {"eat tag": "file", "eat report": "directory"},
             "--limit": {"eat run": "sentences", "eat eacl harvest": "entities"}}
    assert disagreements(helps) == ["--db: eat run: 'DuckDB workspace file'; eat score: 'a stored run'"]


def test_help_loads_no_model_library_or_prefect():
    """``eat --help`` stays fast: the commands import torch, transformers, Prefect and the flows only when run."""
    code = ("import sys\nfrom eat_cli.main import app\nimport typer.main\ntyper.main.get_command(app)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'prefect', 'flows', 'duckdb', 'pydantic') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize(("command", "models"), [
    ("eat run", ("EvalRequest", "ExecutionOptions")), ("eat tag", ("TagRequest",)),
    ("eat distill", ("DistillRequest",)),
])
def test_an_option_that_sets_a_request_field_shows_its_description(command, models):
    """``eat run --help`` says what Prefect's run form says: the help of each option that sets a request field is
    that field's description (one source, ``eat_core/config/fields.py``)."""
    from eat_cli.main import app
    from eat_core.config.coerce import option_name
    from eat_core.config.requests import EvalRequest, ExecutionOptions
    from eat_core.distill.request import DistillRequest
    from eat_core.tagging.request import TagRequest

    classes = {c.__name__: c for c in (EvalRequest, ExecutionOptions, TagRequest, DistillRequest)}
    descriptions = {option_name(name, classes[m]): field.description
                    for m in models for name, field in classes[m].model_fields.items()}
    click_command = _commands(typer.main.get_command(app))[command]
    shown = {param.opts[0] if param.param_type_name == "option" else param.name.upper(): param.help
             for param in click_command.params if not getattr(param, "hidden", False)}  # --repair-tags: a no-op
    matched = {opt: help_text for opt, help_text in shown.items() if opt in descriptions}
    assert len(matched) >= 12
    assert {opt: text for opt, text in matched.items() if text != descriptions[opt]} == {}
