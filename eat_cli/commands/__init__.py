"""The ``eat`` commands, one module per concern; ``eat_cli.main`` assembles them. Heavy imports stay inside the
command functions, so ``eat --help`` loads none of them."""
