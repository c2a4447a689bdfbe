"""``python -m sdkit.cli``: the ``sdkit`` command."""

from sdkit.cli.app import main

if __name__ == "__main__":
    main()
