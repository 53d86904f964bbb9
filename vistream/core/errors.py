"""Exceptions raised by vistream. Each names the place: element, property, pad, file and line."""

from __future__ import annotations


class VistreamError(Exception):
    """Base class of vistream's errors."""


class ElementError(VistreamError):
    """An element failed; ``element`` is its name, ``debug`` extra detail for developers."""

    def __init__(self, message: str, element: str | None = None, debug: str | None = None):
        self.element = element
        self.debug = debug
        super().__init__(f"{element}: {message}" if element else message)
        self.message = message


class PropertyError(VistreamError, ValueError):
    """A property is unknown or its value is invalid."""

    def __init__(self, message: str, element: str | None = None, prop: str | None = None):
        self.element = element
        self.prop = prop
        where = ":".join(p for p in (element, prop) if p)
        super().__init__(f"{where}: {message}" if where else message)


class LinkError(VistreamError):
    """Two pads could not be linked, or a pad that must be linked is not."""


class LaunchError(VistreamError, ValueError):
    """A launch string could not be parsed; the message quotes the string and points at the token."""

    def __init__(self, message: str, text: str | None = None, start: int = 0, end: int = 0):
        self.text = text
        self.start = start
        self.end = max(end, start + 1)
        self.reason = message
        if text is not None:
            pointer = " " * start + "^" * (self.end - start)
            message = f"{message}\n  {text}\n  {pointer}"
        super().__init__(message)


class ConfigError(VistreamError, ValueError):
    """A configuration file has a bad value; the message starts with ``file:line``."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = f"{path}:{line}" if path and line else (path or "")
        super().__init__(f"{where}: {message}" if where else message)
