"""Errors raised by the data layer."""


class DataError(ValueError):
    """Bad or missing input data.

    The message always names what is at fault: the basin, the file and line, or the variable.
    """
