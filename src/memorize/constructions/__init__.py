"""The constructions, one module per theorem.

Importing this package imports every paper module below; each registers its builder with
:func:`memorize.registry.register`. To follow ``memorize.build("zhang2017", ...)`` to its code,
open the module of the same name.
"""

from . import baum1988, bubeck2020, float_safe, hardt_ma2017, park2021, vardi2022, yang2026, yun2019, zhang2017  # noqa: F401
