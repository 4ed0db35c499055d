"""Train and evaluate an English NER extractor on WikiANN-format English data (EAT §4.2: lr 1e-4, 50 epochs).

One entry point, :func:`train_extractor`, for both kinds (``t5`` text-to-text, ``token-classification``); the CLI
and the Prefect flow call it. Checkpoints are standard Hugging Face directories, training resumes from the last
checkpoint in ``output_dir`` *only if it was made from the same inputs* (``eat_core.training.steps``: a changed
base model, data file or setting starts afresh, a finished identical run is reused), early stopping watches
validation entity F1, and ``final/`` holds the best model plus ``eat_manifest.json`` (base model, data hash,
hyper-parameters, metrics, the step key).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eat_core.bio import spans_from_tags
from eat_core.config.run import ExtractorConfig
from eat_core.data.wikiann import load_wikiann_local
from eat_core.errors import ConfigError
from eat_core.extractors import load_extractor
from eat_core.extractors.spans import entities_to_tags, locate_in_text
from eat_core.extractors.t5 import format_input, format_target, parse_output
from eat_core.hashing import content_hash
from eat_core.scoring.counts import micro
from eat_core.scoring.entity_f1 import entity_counts
from eat_core.scoring.token_f1 import token_counts
from eat_core.training.steps import StepKey, finished_manifest, prepare_output, step_key
from eat_core.types import ENTITY_TYPES, Sentence
from eat_core.weights.fingerprint import model_fingerprint
from eat_core.weights.resolve import resolve_model_path

log = logging.getLogger(__name__)
WIKIANN_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")


class ExtractorTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["t5", "token-classification"] = "t5"
    base_model: str = "google/flan-t5-base"
    data_dir: str
    lang: str = "en"
    train_splits: tuple[str, ...] = ("train",)
    eval_split: str = "dev"
    output_dir: str
    epochs: float = Field(50, gt=0)  # EAT §4.2
    learning_rate: float = Field(1e-4, gt=0)  # EAT §4.2
    batch_size: int = Field(16, ge=1)
    max_steps: int = -1
    patience: int = Field(3, ge=1)
    seed: int = 42
    limit_train: int | None = Field(None, ge=1)
    limit_eval: int | None = Field(None, ge=1)
    max_source_length: int = 160
    max_target_length: int = 64
    repair_tags: bool = True  # orphan I- starts an entity (conlleval); False refuses such files


def sentence_text(sentence: Sentence) -> str:
    return " ".join(sentence.tokens)


def gold_pairs(sentence: Sentence) -> list[tuple[str, str]]:
    return [(s.label, " ".join(sentence.tokens[s.start : s.end])) for s in spans_from_tags(sentence.tags or ())]


def score_extractor(extract: Callable[[list[str]], list], sentences: Sequence[Sentence]) -> dict[str, float]:
    """Entity-level (seqeval strict) and token-level F1 of an extractor on tokenised gold sentences."""
    predicted = extract([sentence_text(s) for s in sentences])
    pred_tags = [entities_to_tags(s.tokens, ents) for s, ents in zip(sentences, predicted, strict=True)]
    gold = [s.tags for s in sentences]
    ent = micro(entity_counts(gold, pred_tags))
    return {"entity_f1": ent.f1, "entity_precision": ent.precision, "entity_recall": ent.recall,
            "token_f1": micro(token_counts(gold, pred_tags, "all-sentences")).f1}


def _load(cfg: ExtractorTrainConfig) -> tuple[list[Sentence], list[Sentence]]:
    train: list[Sentence] = []
    for split in cfg.train_splits:
        train += load_wikiann_local(cfg.data_dir, cfg.lang, split, repair=cfg.repair_tags)[0]
    evaluation = load_wikiann_local(cfg.data_dir, cfg.lang, cfg.eval_split, repair=cfg.repair_tags)[0]
    return train[: cfg.limit_train], evaluation[: cfg.limit_eval]


def _args(cfg: ExtractorTrainConfig, seq2seq: bool):
    from transformers import Seq2SeqTrainingArguments, TrainingArguments

    cls = Seq2SeqTrainingArguments if seq2seq else TrainingArguments
    extra = {"predict_with_generate": True, "generation_max_length": cfg.max_target_length} if seq2seq else {}
    return cls(
        output_dir=cfg.output_dir, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, eval_strategy="epoch", save_strategy="epoch",
        save_total_limit=2, load_best_model_at_end=True, metric_for_best_model="entity_f1", greater_is_better=True,
        seed=cfg.seed, data_seed=cfg.seed, report_to="none", logging_steps=10, disable_tqdm=True, **extra,
    )


def _step_key(cfg: ExtractorTrainConfig, train: Sequence[Sentence], evaluation: Sequence[Sentence]) -> StepKey:
    """Everything that changes the trained extractor: settings, base weights, and the sentences actually read."""
    return step_key("train_extractor", cfg.model_dump(mode="json"),
                    **{"base model": model_fingerprint(cfg.base_model)[1],
                       "training data": content_hash([[s.tokens, s.tags] for s in train])[:16],
                       "evaluation data": content_hash([[s.tokens, s.tags] for s in evaluation])[:16]})


def _resume_point(output_dir: str) -> str | None:
    checkpoints = sorted(Path(output_dir).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return str(checkpoints[-1]) if checkpoints else None


def _train_t5(cfg, train, evaluation):
    import numpy as np
    from transformers import (
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        EarlyStoppingCallback,
        Seq2SeqTrainer,
    )

    path = resolve_model_path(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path)
    eos = tokenizer.eos_token_id
    appends_eos = tokenizer("a")["input_ids"][-1:] == [eos]

    def encode(sentences):
        rows = []
        for s in sentences:
            source = tokenizer(format_input(sentence_text(s)), truncation=True, max_length=cfg.max_source_length)
            target = tokenizer(format_target(gold_pairs(s)), truncation=True, max_length=cfg.max_target_length)
            labels = target["input_ids"] if appends_eos else target["input_ids"][: cfg.max_target_length - 1] + [eos]
            rows.append({"input_ids": source["input_ids"], "attention_mask": source["attention_mask"],
                         "labels": labels})
        return rows

    def compute_metrics(prediction):
        ids = np.where(prediction.predictions < 0, tokenizer.pad_token_id, prediction.predictions)
        texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
        outputs = iter(texts)

        def extract(sentences):
            return [locate_in_text(s, parse_output(next(outputs))[0])[0] for s in sentences]

        return score_extractor(extract, evaluation)

    trainer = Seq2SeqTrainer(model=model, args=_args(cfg, True), train_dataset=encode(train),
                             eval_dataset=encode(evaluation), processing_class=tokenizer,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                             compute_metrics=compute_metrics,
                             callbacks=[EarlyStoppingCallback(early_stopping_patience=cfg.patience)])
    return trainer, tokenizer


def _train_token_classification(cfg, train, evaluation):
    import numpy as np
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        EarlyStoppingCallback,
        Trainer,
    )

    path = resolve_model_path(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    label2id = {label: i for i, label in enumerate(WIKIANN_LABELS)}
    model = AutoModelForTokenClassification.from_pretrained(
        path, num_labels=len(WIKIANN_LABELS), id2label=dict(enumerate(WIKIANN_LABELS)), label2id=label2id,
        ignore_mismatched_sizes=True)

    def encode(sentences):
        rows = []
        for s in sentences:
            enc = tokenizer(list(s.tokens), is_split_into_words=True, truncation=True,
                            max_length=cfg.max_source_length)
            labels, previous = [], None
            for word in enc.word_ids():
                labels.append(-100 if word is None or word == previous else label2id[s.tags[word]])
                previous = word
            rows.append({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels})
        return rows

    def compute_metrics(prediction):
        predicted = prediction.predictions.argmax(-1)
        gold_tags, pred_tags = [], []
        for pred_row, label_row in zip(predicted, prediction.label_ids, strict=True):
            keep = label_row != -100
            gold_tags.append([WIKIANN_LABELS[i] for i in label_row[keep]])
            pred_tags.append(_valid_iob2([WIKIANN_LABELS[i] for i in np.asarray(pred_row)[keep]]))
        score = micro(entity_counts(gold_tags, pred_tags))
        return {"entity_f1": score.f1, "entity_precision": score.precision, "entity_recall": score.recall}

    trainer = Trainer(model=model, args=_args(cfg, False), train_dataset=encode(train),
                      eval_dataset=encode(evaluation), processing_class=tokenizer,
                      data_collator=DataCollatorForTokenClassification(tokenizer), compute_metrics=compute_metrics,
                      callbacks=[EarlyStoppingCallback(early_stopping_patience=cfg.patience)])
    return trainer, tokenizer


def _valid_iob2(tags: list[str]) -> list[str]:
    out = list(tags)
    for i, tag in enumerate(out):
        if tag.startswith("I-") and (i == 0 or out[i - 1][2:] != tag[2:]):
            out[i] = "B-" + tag[2:]
    return out


def train_extractor(cfg: ExtractorTrainConfig, progress: Callable[[str], None] | None = None) -> dict:
    """Train, keep the best checkpoint by validation entity F1, evaluate it with the inference code path."""
    say = progress or log.info
    from transformers import set_seed

    set_seed(cfg.seed)
    train, evaluation = _load(cfg)
    if not train or not evaluation:
        raise ConfigError("no training or evaluation sentences (check --data and the limits)")
    key = _step_key(cfg, train, evaluation)
    final = Path(cfg.output_dir) / "final"
    done = finished_manifest(final / "eat_manifest.json", key)
    if done is not None:
        say(f"{final} was trained from these very inputs (key {key.key}); reusing it")
        return done
    resumable = prepare_output(cfg.output_dir, key, say)
    builders = {"t5": _train_t5, "token-classification": _train_token_classification}
    trainer, tokenizer = builders[cfg.kind](cfg, train, evaluation)
    resume = _resume_point(cfg.output_dir) if resumable else None
    say(f"training {cfg.kind} from {cfg.base_model} on {len(train)} sentences, evaluating on {len(evaluation)}"
        + (f"; resuming from {resume}" if resume else ""))
    result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))

    name = "t5" if cfg.kind == "t5" else "token-classification"
    extractor = load_extractor(ExtractorConfig(name=name, model=str(final), batch_size=cfg.batch_size,
                                               max_new_tokens=cfg.max_target_length))
    metrics = score_extractor(extractor.extract, evaluation)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    manifest = {
        "kind": cfg.kind, "base_model": cfg.base_model, "entity_types": list(ENTITY_TYPES),
        "config": cfg.model_dump(mode="json"),
        "data_hash": content_hash([[s.tokens, s.tags] for s in train]),
        "train_sentences": len(train), "eval_sentences": len(evaluation), "eval_split": cfg.eval_split,
        "metrics": metrics, "train_loss": result.training_loss, "loss_history": losses,
        "parse_stats": dict(getattr(extractor, "stats", {})),
        "step_key": key.key, "inputs": key.inputs,
    }
    (final / "eat_manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    say(f"{cfg.eval_split} entity_f1={metrics['entity_f1']:.2f} token_f1={metrics['token_f1']:.2f} -> {final}")
    return manifest
