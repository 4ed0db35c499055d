"""Prefect flows composing tasks/: full_eval, eacl_refresh, finetune, train_extractor, aggregate (issue 6)."""
