"""`numloss.explain` and `numloss.gradcheck`: modules you can also call.

``import numloss.explain`` must give the module its name says, and ``nl.explain(loss, ...)``
the function: a package attribute cannot be both, unless the module is callable. So each of
the two modules is given this class, whose ``__call__`` calls the module's function of the
same name. Everything else about them is an ordinary module.
"""

from __future__ import annotations

import sys
import types


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return getattr(self, self.__name__.rsplit(".", 1)[-1])(*args, **kwargs)


def make_callable(module_name: str) -> None:
    """Calling the module `module_name` calls its function of the same last name."""
    sys.modules[module_name].__class__ = _CallableModule
