"""``python -m lowlight`` is the ``lowlight`` command."""

from lowlight.cli.main import main

if __name__ == "__main__":
    main()
