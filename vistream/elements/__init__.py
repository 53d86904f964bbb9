"""Built-in elements. Importing this package registers them (``vistream inspect`` lists them)."""

from vistream.elements import app, basic, testsrc  # noqa: F401
