"""Word-alignment label projection (Politov et al., NoDaLiDa 2025; García-Ferrero et al., 2022): a labelled English
sentence, its translation, a word alignment between them, and the English entities placed on the translation.

One concept per module:

* ``links.py``: an alignment as a set of ``(source index, target index)`` links; Pharaoh text; symmetrisation;
* ``aligners/``: word aligners behind one interface, chosen by name (``eflomal``: statistical, learns from the
  sentence pairs it is given; ``embedding``: SimAlign-style similarity over a middle layer of any encoder);
* ``refine.py``: refinement with a back-translation of the translation (intersection, union or grown union);
* ``candidates.py``: the n-gram candidates of the translation an entity may land on;
* ``matching.py``: the score of an (entity, candidate) pair and the assignment of entities to candidates (greedy,
  or optimal), chosen by name;
* ``project.py``: all of the above for one sentence pair: IOB2 tags on the translation, and a reason for every
  entity that could not be placed.

Everything here is pure: no LLM, no store; the silver route ``align`` (``eat_core/distill/align_route.py``) brings
the translations and caches the alignments.
"""
