"""How F1 is counted: token F1 protocols, the official scorer, entity F1, translation metrics."""
