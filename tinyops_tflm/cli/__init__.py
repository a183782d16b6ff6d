"""The `tinyops` command line: one module per command group (main.py wires them)."""


def main(argv=None) -> int:
    # Lazy: library modules import cli.progress, which must not load argparse wiring.
    from .app import main as _main

    return _main(argv)
