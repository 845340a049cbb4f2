"""Errors raised by :mod:`memorize`.

Every error is a subclass of :class:`MemorizeError` and of the built-in exception a caller
would expect (``ValueError`` for bad values, ``TypeError`` for bad types), so code that
catches the built-ins keeps working. Messages name the argument and, for data, the offending
indices.
"""

from __future__ import annotations

__all__ = [
    "MemorizeError",
    "DataError",
    "ShapeError",
    "NonFiniteError",
    "DuplicateError",
    "LabelError",
    "AssumptionError",
    "CapacityError",
    "ConstructionError",
    "PrecisionError",
    "FileFormatError",
    "ArgumentError",
    "ArgumentTypeError",
    "ExactnessError",
    "UnknownMethodError",
    "UncheckedFileWarning",
]


class MemorizeError(Exception):
    """Base class of every error raised by memorize."""


class ArgumentError(MemorizeError, ValueError):
    """An option has a value the function cannot use."""


class ArgumentTypeError(MemorizeError, TypeError):
    """An argument has a type the function cannot use."""


class UnknownMethodError(ArgumentError, KeyError):
    """A method name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(MemorizeError, ValueError):
    """The data (``X`` or ``y``) cannot be used."""


class ShapeError(DataError):
    """An array has the wrong number of dimensions or mismatched lengths."""


class NonFiniteError(DataError):
    """An array holds NaN or infinite values."""


class DuplicateError(DataError):
    """Identical inputs carry different labels, so no function can memorize them."""


class LabelError(DataError):
    """Labels outside the range or type a theorem allows."""


class AssumptionError(DataError):
    """The data break an assumption of the theorem and no correct network could be built."""


class CapacityError(MemorizeError, ValueError):
    """The requested architecture is smaller than the theorem allows."""


class ConstructionError(MemorizeError, RuntimeError):
    """A builder's self-check found a point its network misses (a bug: please report it).

    Its subclass :class:`PrecisionError` is not a bug: a known limit of a construction in a
    number format.
    """


class PrecisionError(ConstructionError):
    """The network a builder can construct does not memorize the data in the requested format.

    Raised by a builder given ``dtype=`` when the certificate (:func:`memorize.certify`) fails
    in that format, or when the construction cannot exist in it (exact big-integer weights).
    The message says how many points fail, the largest N the builder handles in the format,
    and names ``float_safe`` / ``float_safe_classifier``, which memorize in it by design.
    """


class FileFormatError(MemorizeError, ValueError):
    """A file is not a valid memorize network or data file."""


class ExactnessError(MemorizeError, TypeError):
    """An operation that needs floats was given an exact network, or the reverse."""


class UncheckedFileWarning(UserWarning):
    """A network file without checksums (format version 1) was loaded: changes to it cannot be
    detected. Saving the network again writes the current format, with checksums."""
