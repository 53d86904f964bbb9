"""Fixture: write a config text to a temporary file."""

from __future__ import annotations

import textwrap

import pytest


@pytest.fixture
def write_config(tmp_path):
    def _write(text: str, name: str = "config_nvdsanalytics.txt"):
        p = tmp_path / name
        p.write_text(textwrap.dedent(text).lstrip("\n"))
        return p

    return _write
