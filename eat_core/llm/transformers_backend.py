"""Local generation with Hugging Face transformers: batched, left-padded, chat-templated, optionally 4-bit + LoRA.

Requests are sorted by prompt length before batching so padding stays small; results return in input order.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from eat_core.errors import BackendError
from eat_core.hashing import directory_fingerprint
from eat_core.llm.base import Chat, Completion, Decoding, LLMBackend
from eat_core.weights.devices import pick_device, pick_dtype, quantization_config
from eat_core.weights.resolve import resolve_model_path

log = logging.getLogger(__name__)



class TransformersBackend(LLMBackend):
    name = "transformers"

    def __init__(self, model: str, *, revision: str | None = None, adapter: str | None = None,
                 load_in_4bit: bool = False, dtype: str = "auto", device: str = "auto",
                 batch_size: int = 32, trust_remote_code: bool = False) -> None:
        super().__init__()
        from transformers import AutoModelForCausalLM, AutoTokenizer


        self.model_id = model
        self.path = resolve_model_path(model)
        self.revision = revision
        self.adapter = adapter
        self.batch_size = batch_size
        self.device = pick_device(device)
        torch_dtype = pick_dtype(dtype, self.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                self.path, revision=revision, padding_side="left", trust_remote_code=trust_remote_code
            )
        except OSError as exc:
            raise BackendError(f"cannot load tokenizer for {model!r}: {exc}") from None
        if not self.tokenizer.chat_template:
            raise BackendError(f"{model!r} has no chat template; use an instruction-tuned (chat) model")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        kwargs = {"revision": revision, "dtype": torch_dtype, "trust_remote_code": trust_remote_code}
        quant = quantization_config(load_in_4bit, torch_dtype)
        if quant is not None:
            kwargs["quantization_config"] = quant
            kwargs["device_map"] = {"": self.device if self.device != "cpu" else "cpu"}
        try:
            self.model = AutoModelForCausalLM.from_pretrained(self.path, **kwargs)
        except OSError as exc:
            raise BackendError(f"cannot load model {model!r}: {exc}") from None
        if quant is None:
            self.model.to(self.device)
        if adapter:
            self.model = load_adapter(self.model, adapter)
        self.model.eval()
        self.load_in_4bit = load_in_4bit
        self._identity = {
            "backend": self.name,
            "model": model,
            "revision": revision,
            "weights": directory_fingerprint(self.path) if Path(self.path).is_dir() else None,
            "adapter": directory_fingerprint(adapter) if adapter else None,
            "load_in_4bit": load_in_4bit,
        }

    @classmethod
    def from_config(cls, config) -> TransformersBackend:
        return cls(config.model, revision=config.revision, adapter=config.adapter, load_in_4bit=config.load_in_4bit,
                   dtype=config.dtype, device=config.device, batch_size=config.batch_size,
                   trust_remote_code=config.trust_remote_code)

    def identity(self) -> dict:
        return dict(self._identity)

    def render(self, chat: Chat) -> str:
        return self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)

    def _generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        import torch

        prompts = [self.render(chat) for chat in chats]
        lengths = [len(x) for x in self.tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
        results: list[Completion | None] = [None] * len(prompts)
        # Sampling runs one request at a time with a seed derived from (seed, prompt): a sampled answer must depend
        # only on what its cache key holds, never on which other requests shared its batch.
        step = self.batch_size if decoding.temperature == 0 else 1
        for start in range(0, len(order), step):
            batch = order[start : start + step]
            t0 = time.perf_counter()
            enc = self.tokenizer([prompts[i] for i in batch], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.model.device)
            gen_kwargs = {"max_new_tokens": decoding.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
            if decoding.min_new_tokens:
                gen_kwargs["min_new_tokens"] = decoding.min_new_tokens
            if decoding.temperature > 0:
                torch.manual_seed(request_seed(decoding.seed or 0, prompts[batch[0]]))
                gen_kwargs.update(do_sample=True, temperature=decoding.temperature, top_p=1.0, top_k=0)
            else:
                gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                out = self.model.generate(**enc, **gen_kwargs)
            new = out[:, enc["input_ids"].shape[1] :]
            elapsed = (time.perf_counter() - t0) / len(batch)
            eos = self.tokenizer.eos_token_id
            for row, i in enumerate(batch):
                ids = new[row].tolist()
                n = len(ids)
                for j, tok in enumerate(ids):
                    if tok == eos or tok == self.tokenizer.pad_token_id:
                        n = j
                        break
                text = self.tokenizer.decode(ids[:n], skip_special_tokens=True)
                results[i] = Completion(text, lengths[i], n, elapsed, truncated=n >= decoding.max_new_tokens)
        return results  # type: ignore[return-value]

    def close(self) -> None:
        del self.model
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass



def request_seed(seed: int, prompt: str) -> int:
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63)



def load_adapter(model, adapter: str):
    """The model with a PEFT LoRA adapter directory (what ``eat finetune`` writes) attached."""
    from peft import PeftModel

    if not (Path(adapter) / "adapter_config.json").is_file():
        raise BackendError(f"{adapter}: not a PEFT adapter directory (no adapter_config.json)")
    return PeftModel.from_pretrained(model, adapter)

