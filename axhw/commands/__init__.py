"""One module per `axhw` subcommand."""
