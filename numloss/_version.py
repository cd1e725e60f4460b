"""numloss's version, in one place: setup.cfg, ``numloss.__version__`` and ``numloss --version``
read it from here (CHANGELOG.md says what each version brought)."""

__version__ = "0.2.0"
