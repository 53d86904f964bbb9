"""``vistream inspect``: list elements, or print one element's details (as gst-inspect-1.0)."""

from __future__ import annotations

import argparse
import inspect as inspect_mod
import sys

from vistream.core.element import Element, element_classes, find_factory
from vistream.core.errors import ElementError
from vistream.core.pad import PadPresence
from vistream.core.props import Property, suggest

_AVAIL = {PadPresence.ALWAYS: "Always", PadPresence.SOMETIMES: "Sometimes", PadPresence.REQUEST: "On request"}


def describe_property(prop: Property) -> list[str]:
    lines = [f"  {prop.name:<22}: {prop.doc}"]
    flags = "readable" + ("" if prop.readonly else ", writable")
    lines.append(f"{'':26}flags: {flags}")
    t = prop.type_text()
    if prop.type in ("int", "uint", "int64", "uint64", "double", "float"):
        lines.append(f"{'':26}{t}. Range: {prop.minimum} - {prop.maximum} Default: {prop.format(prop.default)}")
    elif prop.type == "enum":
        lines.append(f"{'':26}Enum. Default: {prop.default}, \"{prop.nick(prop.default)}\"")
        for value, nick, desc in prop.choices:
            lines.append(f"{'':30}({value}): {nick:<20} - {desc}")
    else:
        lines.append(f"{'':26}{t}. Default: {prop.format(prop.default)}")
    return lines


def describe(cls: type[Element]) -> str:
    out = ["Factory Details:", f"  {'Long-name':<24} {cls.FACTORY}", f"  {'Klass':<24} {cls.KLASS}",
           f"  {'Description':<24} {cls.DESCRIPTION}"]
    if cls.ALIASES:
        out.append(f"  {'Aliases':<24} {', '.join(cls.ALIASES)}")
    doc = inspect_mod.cleandoc(cls.__doc__ or "")
    if doc:
        out += ["", *("  " + line for line in doc.splitlines())]
    out += ["", "Pad Templates:"]
    for t in cls.PAD_TEMPLATES:
        out += [f"  {t.direction.value.upper()} template: '{t.name_template}'",
                f"    Availability: {_AVAIL[t.presence]}", "    Capabilities:"]
        out += [f"      {c}" for c in t.caps.split(";")]
        out.append("")
    if cls.SIGNALS:
        out += ["Element Signals:", *(f"  \"{s}\"" for s in cls.SIGNALS), ""]
    out.append("Element Properties:")
    for prop in cls.properties():
        out += describe_property(prop)
        out.append("")
    return "\n".join(out)


def list_elements() -> str:
    rows = []
    for cls in element_classes():
        names = cls.FACTORY + (f" ({', '.join(cls.ALIASES)})" if cls.ALIASES else "")
        rows.append(f"{names}: {cls.DESCRIPTION}")
    return "\n".join(rows) + f"\n\nTotal count: {len(rows)} elements"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vistream inspect", description="List elements or describe one.")
    parser.add_argument("element", nargs="?", help="factory name, e.g. nvstreammux")
    args = parser.parse_args(argv)
    if not args.element:
        print(list_elements())
        return 0
    cls = find_factory(args.element)
    if cls is None:
        from vistream.core.element import factory_names

        err = ElementError(f'No such element or plugin "{args.element}"{suggest(args.element, factory_names())}')
        print(err, file=sys.stderr)
        return 1
    print(describe(cls))
    return 0
