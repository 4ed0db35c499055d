"""Device, dtype and 4-bit quantisation choices shared by every model that loads weights."""

from __future__ import annotations

from eat_core.errors import BackendError


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"



def pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return getattr(torch, dtype)
    except AttributeError:
        raise BackendError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16") from None



def quantization_config(load_in_4bit: bool, compute_dtype):
    """4-bit NF4 with double quantisation (EAT §3.3, QLoRA)."""
    if not load_in_4bit:
        return None
    try:
        from transformers import BitsAndBytesConfig
    except ImportError as exc:  # pragma: no cover
        raise BackendError("4-bit loading needs bitsandbytes: pip install 'eat-ner[gpu]'") from exc
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )

