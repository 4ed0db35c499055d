"""Content-keyed reuse for steps that write an output directory (extractor training, QLoRA fine-tuning).

Such a step resumes from the checkpoints in its output directory, and a finished one is not trained again. Both are
only right when the checkpoints were made from the same inputs: a base model, data file or hyper-parameter changed
under the same ``--output`` must start afresh. So the directory carries ``eat_step.json`` with the step's key, a hash
of everything that changes its output (configuration without the output path, base-model weights fingerprint, a
hash of the data actually read), never of a path alone.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from eat_core.hashing import content_hash

STEP_FILE = "eat_step.json"


@dataclass(frozen=True)
class StepKey:
    """``inputs`` maps a readable name (``base model``, ``training data``, ``configuration``) to a fingerprint."""

    step: str
    inputs: dict[str, str]

    @property
    def key(self) -> str:
        return content_hash({"step": self.step, "inputs": self.inputs})[:16]


def step_key(step: str, config: dict, **fingerprints: str) -> StepKey:
    """The key of a step from its configuration (``output_dir`` left out) and named input fingerprints."""
    settings = {k: v for k, v in config.items() if k != "output_dir"}
    return StepKey(step, {"configuration": content_hash(settings)[:16], **fingerprints})


def recorded_key(output_dir: str | Path) -> StepKey | None:
    path = Path(output_dir) / STEP_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return StepKey(data["step"], dict(data["inputs"]))
    except (ValueError, KeyError, TypeError):
        return None


def changed_inputs(old: StepKey | None, new: StepKey) -> list[str]:
    """``training data changed: 1a2b3c -> 4d5e6f`` per input whose fingerprint differs."""
    if old is None:
        return []
    names = sorted(set(old.inputs) | set(new.inputs))
    return [f"{name} changed: {old.inputs.get(name, 'none')[:12]} -> {new.inputs.get(name, 'none')[:12]}"
            for name in names if old.inputs.get(name) != new.inputs.get(name)]


def prepare_output(output_dir: str | Path, key: StepKey, say) -> bool:
    """Make ``output_dir`` safe to resume in; returns True when it holds checkpoints of these very inputs.

    Checkpoints of other inputs (or of an unknown key: written before keys existed) are removed, with one line
    naming what changed, so the trainer can neither resume from them nor mix them with new ones.
    """
    out = Path(output_dir)
    checkpoints = sorted(out.glob("checkpoint-*"))
    old = recorded_key(out)
    same = old is not None and old.key == key.key
    if checkpoints and not same:
        why = "; ".join(changed_inputs(old, key)) or "checkpoints of unrecorded inputs"
        say(f"{out}: {why}; starting afresh instead of resuming ({len(checkpoints)} stale checkpoint(s) removed)")
        for checkpoint in checkpoints:
            shutil.rmtree(checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    (out / STEP_FILE).write_text(json.dumps({"step": key.step, "key": key.key, "inputs": key.inputs}, indent=2),
                                 encoding="utf-8")
    return same and bool(checkpoints)


def finished_manifest(manifest_path: str | Path, key: StepKey) -> dict | None:
    """The manifest of a finished step with the same key (reuse it), else None (run the step)."""
    path = Path(manifest_path)
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return manifest if manifest.get("step_key") == key.key else None
