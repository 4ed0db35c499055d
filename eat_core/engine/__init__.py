"""The EAT algorithm: the dual translator (forward MrCoT, backward entity translation) and the aligner."""
