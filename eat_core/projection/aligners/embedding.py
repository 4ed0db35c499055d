"""SimAlign-style alignment (Jalili Sabet et al., Findings of EMNLP 2020) from any multilingual encoder.

Each word's vector is the mean of its subword vectors at one hidden layer of the encoder (SimAlign found a middle
layer best: layer 8 of 12 for mBERT and XLM-R base; ``layer=None`` takes two thirds of the depth, which is 8 of 12).
The cosine similarity matrix ``S`` of source and target words is turned into links:

* **Argmax**: ``(i, j)`` when ``j`` is ``i``'s most similar target word and ``i`` is ``j``'s most similar source
  word (mutual nearest neighbours: precise, one-to-one);
* **IterMax**: Argmax, then again over the pairs not yet decided, with the similarity of a pair whose one word is
  already aligned scaled by ``alpha`` (0.9) and pairs whose both words are aligned left out, for at most
  ``iterations`` (2) more rounds: more recall on distant language pairs.

The encoder loads through ``AutoTokenizer``/``AutoModel.from_pretrained`` with ``trust_remote_code=False``, the code
path of any Hugging Face checkpoint (an id, a local directory, or a ``tiny:`` model built here). Words are tokenised
one by one, so any tokenizer works, and a pair longer than the encoder's positions keeps what fits (the words past
it get no vector and no link).
"""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.errors import ConfigError
from eat_core.projection.aligners.base import Pair, WordAligner
from eat_core.projection.links import Links
from eat_core.weights.devices import pick_device
from eat_core.weights.fingerprint import model_fingerprint
from eat_core.weights.resolve import resolve_model_path

ITERMAX_ALPHA = 0.9  # SimAlign §2.2: the discount for a pair whose one word is aligned already
ITERMAX_ITERATIONS = 2  # SimAlign's default number of IterMax rounds after the first Argmax


class EmbeddingAligner(WordAligner):
    name = "embedding"
    method = "argmax"

    def __init__(self, model: str, layer: int | None = None, device: str = "auto", batch_size: int = 16) -> None:
        super().__init__()
        self.model_name = model
        self.layer = layer
        self.device = device
        self.batch_size = batch_size
        self._loaded = None

    def identity(self) -> dict:
        return {"aligner": self.name, "method": self.method, "model": self.model_name,
                "weights": model_fingerprint(self.model_name)[1], "layer": self.layer}

    # -- the encoder ---------------------------------------------------------------------------------------------

    def _load(self):
        if self._loaded is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            path = resolve_model_path(self.model_name)
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            model = AutoModel.from_pretrained(path, trust_remote_code=False)
            device = pick_device(self.device)
            model.to(device).eval()
            depth = model.config.num_hidden_layers
            layer = self.layer if self.layer is not None else max(1, round(depth * 2 / 3))
            if not 0 <= layer <= depth:
                raise ConfigError(f"layer {layer} out of range: {self.model_name} has {depth} layers (0 = "
                                  "embeddings)")
            limit = getattr(model.config, "max_position_embeddings", 512) or 512
            self._loaded = (torch, tokenizer, model, device, layer, min(limit - 4, 510))
        return self._loaded

    def word_vectors(self, sentences: Sequence[Sequence[str]]) -> list:
        """One ``(words, hidden)`` tensor per sentence (zeros for a word with no subword or past the limit)."""
        torch, tokenizer, model, device, layer, limit = self._load()
        prefix, suffix = _special_tokens(tokenizer)
        encoded = []
        for words in sentences:
            ids: list[int] = []
            owner: list[int] = []
            pieces_of = tokenizer(list(words), add_special_tokens=False)["input_ids"] if words else []
            for w, pieces in enumerate(pieces_of):
                ids += pieces
                owner += [w] * len(pieces)
            ids, owner = ids[:limit], owner[:limit]
            encoded.append((prefix + ids + suffix, len(prefix), owner, len(words)))
        out = []
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start : start + self.batch_size]
            width = max(len(full) for full, *_ in batch)
            input_ids = torch.tensor([full + [pad] * (width - len(full)) for full, *_ in batch], device=device)
            mask = torch.tensor([[1] * len(full) + [0] * (width - len(full)) for full, *_ in batch], device=device)
            with torch.no_grad():
                hidden = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True).hidden_states
            states = hidden[layer].float().cpu()
            for row, (_, offset, owner, n_words) in zip(states, batch, strict=True):
                index = torch.tensor(owner, dtype=torch.long)
                vectors = torch.zeros(n_words, row.shape[-1]).index_add_(0, index, row[offset : offset + len(owner)])
                counts = torch.zeros(n_words).index_add_(0, index, torch.ones(len(owner)))
                out.append(vectors / counts.clamp(min=1).unsqueeze(1))
        return out

    # -- links from similarities -----------------------------------------------------------------------------

    def _align(self, pairs: Sequence[Pair]) -> list[Links]:
        torch = self._load()[0]
        vectors = self.word_vectors([s for s, _ in pairs] + [t for _, t in pairs])
        out = []
        for k in range(len(pairs)):
            src, tgt = vectors[k], vectors[len(pairs) + k]
            sim = torch.nn.functional.normalize(src, dim=-1) @ torch.nn.functional.normalize(tgt, dim=-1).T
            out.append(self.links(sim.numpy()))
        return out

    def links(self, sim) -> Links:
        return argmax_links(sim)


class IterMaxAligner(EmbeddingAligner):
    name = "embedding-itermax"
    method = "itermax"

    def links(self, sim) -> Links:
        return itermax_links(sim)


def _special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single sequence ([CLS] ... [SEP], <s> ... </s>, or none), read
    off how it encodes one word with and without special tokens (any tokenizer, any transformers version)."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return list(full[:start]), list(full[start + len(bare):])
    return [], []


def argmax_links(sim) -> Links:
    """Mutual nearest neighbours of a similarity matrix (rows: source words, columns: target words); a word whose
    similarities are all zero (no vector) is never linked."""
    import numpy as np

    sim = np.asarray(sim, dtype=float)
    if sim.size == 0:
        return frozenset()
    best_col = sim.argmax(axis=1)
    best_row = sim.argmax(axis=0)
    return frozenset((int(i), int(j)) for i, j in enumerate(best_col) if best_row[j] == i and sim[i, j] > 0)


def itermax_links(sim, alpha: float = ITERMAX_ALPHA, iterations: int = ITERMAX_ITERATIONS) -> Links:
    """SimAlign's IterMax: Argmax, then Argmax again over what is left, one side already aligned discounted."""
    import numpy as np

    sim = np.asarray(sim, dtype=float)
    links = set(argmax_links(sim))
    for _ in range(iterations):
        src = np.zeros(sim.shape[0], dtype=bool)
        tgt = np.zeros(sim.shape[1], dtype=bool)
        for i, j in links:
            src[i] = tgt[j] = True
        if src.all() and tgt.all():
            break
        both = src[:, None] & tgt[None, :]
        one = src[:, None] ^ tgt[None, :]
        weights = np.where(both, 0.0, np.where(one, alpha, 1.0))
        new = {link for link in argmax_links(sim * weights) if not both[link]}
        if not new - links:
            break
        links |= new
    return frozenset(links)
