"""``eat train-extractor`` and ``eat finetune``: train the English extractor and fine-tune the LLM (EAT §3.3, §4.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eat_cli.app import friendly, progress
from eat_cli.options import Data, MaxSteps, Seed


@friendly
def train_extractor(
    data: Data = ...,
    output: Annotated[Path, typer.Option(help="output directory (checkpoints; the best model goes to "
                                              "OUTPUT/final)")] = ...,
    kind: Annotated[str, typer.Option(help="t5 (text-to-text) or token-classification")] = "t5",
    base_model: Annotated[str, typer.Option(help="base checkpoint (default: google/flan-t5-base or bert-base-"
                                                 "multilingual-cased); tiny:t5 / tiny:bert-tc build tiny local "
                                                 "ones")] = None,
    train_splits: Annotated[str, typer.Option(help="comma-separated splits to train on (paper: train,dev)")] = "train",
    eval_split: Annotated[str, typer.Option(help="split for early stopping and the final entity F1")] = "dev",
    epochs: Annotated[float, typer.Option(help="epochs (EAT §4.2: 50)")] = 50,
    learning_rate: Annotated[float, typer.Option(help="learning rate (EAT §4.2: 1e-4)")] = 1e-4,
    batch_size: int = 16,
    max_steps: MaxSteps = -1,
    patience: Annotated[int, typer.Option(help="early-stopping patience in evaluations")] = 3,
    seed: Seed = 42,
    limit_train: Annotated[int, typer.Option(help="use only the first N training sentences")] = None,
    limit_eval: Annotated[int, typer.Option(help="use only the first N evaluation sentences")] = None,
) -> None:
    """Train and evaluate an English NER extractor (Flan-T5 text-to-text or token classification); prints F1.

    --data holds en/<split>.tsv for each of --train-splits and --eval-split.
    """
    from eat_core.training.extractor import ExtractorTrainConfig
    from eat_core.training.extractor import train_extractor as train

    defaults = {"t5": "google/flan-t5-base", "token-classification": "bert-base-multilingual-cased"}
    if kind not in defaults:
        raise typer.BadParameter(f"unknown kind {kind!r}; use t5 or token-classification", param_hint="--kind")
    cfg = ExtractorTrainConfig(kind=kind, base_model=base_model or defaults[kind], data_dir=str(data),
                               output_dir=str(output), train_splits=tuple(train_splits.split(",")),
                               eval_split=eval_split, epochs=epochs, learning_rate=learning_rate,
                               batch_size=batch_size, max_steps=max_steps, patience=patience, seed=seed,
                               limit_train=limit_train, limit_eval=limit_eval)
    manifest = train(cfg, progress=progress)
    m = manifest["metrics"]
    typer.echo(f"{eval_split} entity_f1={m['entity_f1']:.2f} precision={m['entity_precision']:.2f} "
               f"recall={m['entity_recall']:.2f} token_f1={m['token_f1']:.2f}  model={output / 'final'}")


@friendly
def finetune(
    train: Annotated[Path, typer.Option(help="ShareGPT training file (from `eat eacl build`)")] = ...,
    output: Annotated[Path, typer.Option(help="output directory; the adapter goes to OUTPUT/adapter")] = ...,
    valid: Annotated[Path, typer.Option(help="ShareGPT validation file (loss reported per epoch)")] = None,
    base_model: Annotated[str, typer.Option(help="chat model id or path (tiny:qwen2 for a test)")]
    = "Qwen/Qwen2.5-14B-Instruct",
    four_bit: Annotated[bool, typer.Option("--4bit/--no-4bit", help="QLoRA: NF4 4-bit base with double "
                                                                     "quantisation")] = True,
    lora_r: Annotated[int, typer.Option(help="LoRA rank (EAT §4.2: 64)")] = 64,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha (EAT §4.2: 16)")] = 16,
    learning_rate: Annotated[float, typer.Option(help="EAT §4.2: 1e-4")] = 1e-4,
    epochs: Annotated[float, typer.Option(help="EAT §4.2: 5")] = 5,
    max_steps: MaxSteps = -1,
    batch_size: int = 4,
    gradient_accumulation: int = 4,
    max_length: Annotated[int, typer.Option(help="longer conversations are skipped and counted")] = 512,
    limit: Annotated[int, typer.Option(help="use only the first N conversations of each file")] = None,
    seed: Seed = 42,
) -> None:
    """QLoRA fine-tune the LLM on an EACL ShareGPT export (EAT §3.3); writes a PEFT adapter and its manifest."""
    from eat_core.training.finetune import FinetuneConfig
    from eat_core.training.finetune import finetune as run_finetune

    cfg = FinetuneConfig(base_model=base_model, train_file=str(train), valid_file=str(valid) if valid else None,
                         output_dir=str(output), load_in_4bit=four_bit, lora_r=lora_r, lora_alpha=lora_alpha,
                         learning_rate=learning_rate, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                         gradient_accumulation=gradient_accumulation, max_length=max_length, limit=limit, seed=seed)
    manifest = run_finetune(cfg, progress=progress)
    evals = ", ".join(f"epoch {e['epoch']:.0f}: {e['eval_loss']:.4f}" for e in manifest["eval_loss_per_epoch"])
    typer.echo(f"adapter={output / 'adapter'} train_loss={manifest['train_loss']:.4f}"
               + (f" eval_loss=[{evals}]" if evals else ""))
