"""Prefect flows composing tasks/, one flow name per pipeline (deployment ``<flow>/<deployment>`` in prefect.yaml):
full_eval (eat/full-eval), tag_corpus (tag/corpus), distill_flow (distill/student), train_extractor_flow
(train-extractor/english), finetune_flow (finetune/qlora), eacl_refresh (eacl/refresh)."""
