"""The one error class the user sees: every layer raises it for what the user can act on."""


class NounlensError(Exception):
    """An error the user can act on: printed as one line, no traceback."""
