"""The constructions, one module per paper.

Every module here registers its builders with :func:`memorize.registry.register` when it is
imported; :mod:`memorize.registry` imports them all on first use.
"""
