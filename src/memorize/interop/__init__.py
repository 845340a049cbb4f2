"""Bridges from :class:`memorize.Network` to other frameworks.

Each bridge lives in its own submodule and imports its framework only when used, so
``import memorize`` never pulls in PyTorch. Use them through :meth:`memorize.Network.to_torch`
and :func:`memorize.from_torch`.
"""

__all__: list[str] = []
