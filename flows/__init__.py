"""Prefect flows composing tasks/: full_eval (eat/full-eval), train_extractor (eat/train-extractor)."""
