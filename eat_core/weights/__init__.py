"""Model weights: where they come from, their fingerprints, devices, and the tiny models built from configs."""
