"""Distillation: silver training sets from a teacher (EAT, CROP) or a label projection, and a fast student.

* ``request.py``: :class:`DistillRequest` (route, language, profile, filters, student settings; the
  student defaults are the profile's, ``eat_core/config/run.py`` ``PROFILES``);
* ``filters.py``: which tagged sentences enter a silver set, each drop with its reason;
* ``silver.py``: the one silver-set format (DuckDB rows, ``<out>/<lang>/{train,dev}.tsv``, ``silver.json``), ids
  keyed by content, signatures;
* ``projection.py``: translate-train label projection (markers in, tokens and tags out);
* ``alignment.py``: translate-train label projection by word alignment (route ``align``, ``eat_core/projection``);
* ``plan.py``: :class:`DistillPlan` (a validated request) and what every step derives from it (silver directory,
  signature, progress);
* ``projected_rows.py``: the silver rows of the ``projection`` and ``align`` routes, shard by shard;
* ``student.py``: the student's steps (training, evaluation, self-training), each content-keyed and idempotent;
* ``pipeline.py``: the teacher and silver-set steps and the whole chain;
  :func:`~eat_core.distill.pipeline.distill` runs them without Prefect.
"""
