"""One evaluation run, in plain Python: identity, data, model session, shards, lifecycle, progress, the loop."""
