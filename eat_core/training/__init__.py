"""Things that produce weights: the English extractor, QLoRA fine-tuning, and resumable step keys."""
