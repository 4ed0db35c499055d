"""The ``eat`` command line. Errors a user can act on print as one line (exit 2), never as a traceback.

Exit codes: 0 success; 1 the run failed (shards failed after their retries: the last lines name each with its
cause); 2 a user error (an option value, a name, a path, a data file, an unknown run), found before any model loads;
130 interrupted (Ctrl-C; the run is marked ``interrupted`` and a re-run resumes it); 143 terminated (SIGTERM, on
the flow path: the same). On the flow path (no ``--direct``) a temporary Prefect server that does not start within
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS is exit 2, before any shard (``eat_cli/prefect_server.py``).
"""

from __future__ import annotations

import sys

from eat_cli.prefect_server import set_prefect_defaults

set_prefect_defaults()  # before Prefect reads its settings (no telemetry, time for a temporary server's first start)

from eat_cli.app import EatApp  # noqa: E402 - typer (and, in a command, Prefect) after the defaults above
from eat_cli.commands import data, distill, eacl, evaluate, results, serve, tag, train  # noqa: E402

app = EatApp(help="eat-ner: zero-shot cross-lingual NER by entity-aligned translation (EAT).",
             no_args_is_help=True, add_completion=False)

app.command()(evaluate.run)
app.command()(tag.tag)
app.command()(results.results)
app.command()(results.compare)
app.command("compare-silver")(results.compare_silver)
app.command()(results.score)
app.command()(evaluate.resume)
app.command()(results.report)
app.command("train-extractor")(train.train_extractor)
app.command()(train.finetune)
app.command()(distill.silver)
app.command()(distill.distill)
app.command()(serve.serve)
app.add_typer(eacl.app, name="eacl")
app.add_typer(data.app, name="data")


def main() -> None:  # pragma: no cover
    sys.exit(app())
