"""eat-ner core: pure domain logic for entity-aligned translation (no Prefect imports here)."""
