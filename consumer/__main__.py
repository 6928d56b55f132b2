"""``python -m consumer`` is the same as the ``consumer`` console script."""

from consumer.cli import main

if __name__ == "__main__":
    main()
