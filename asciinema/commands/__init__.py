"""One module per command; each exposes ``run(args) -> int``. Commands only wire modules."""
