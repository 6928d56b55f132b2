"""The ``consumer`` command line: the app in ``app``, shared options in ``options``, one module per
command group."""


def main() -> None:
    """Console entry point (``consumer``, ``python -m consumer``): see :func:`consumer.cli.app.main`.

    The app is imported on call: the command modules import ``consumer.cli.options``, which must not
    pull the app (and with it every command module) in first.
    """
    from consumer.cli.app import main as run

    run()
