"""gst-launch syntax: ``src ! filter ! sink``, ``name=`` and ``name.pad`` references, properties, caps, branches.

Errors quote the string and point at the offending token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vistream.core.caps import Caps, CapsError
from vistream.core.element import Element, factory_names, find_factory, make_element
from vistream.core.errors import LaunchError, LinkError, PropertyError
from vistream.core.pad import PadDirection, PadPresence
from vistream.core.pipeline import Pipeline
from vistream.core.props import suggest


@dataclass
class Token:
    kind: str  # "word", "link"
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split a launch string into words and ``!`` links, keeping quoted values (with escapes) intact."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "!":
            tokens.append(Token("link", "!", i, i + 1))
            i += 1
            continue
        start = i
        buf: list[str] = []
        depth = 0
        while i < n and (depth > 0 or not (text[i].isspace() or text[i] == "!")):
            c = text[i]
            if c in "\"'":
                quote, j = c, i + 1
                while j < n and text[j] != quote:
                    if text[j] == "\\" and j + 1 < n:
                        j += 1
                    buf.append(text[j])
                    j += 1
                if j >= n:
                    raise LaunchError("unterminated quoted string", text, i, n)
                i = j + 1
                continue
            if c == "\\" and i + 1 < n:
                buf.append(text[i + 1])
                i += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            buf.append(c)
            i += 1
        tokens.append(Token("word", "".join(buf), start, i))
    return tokens


_CAPS_RE = re.compile(r"^[a-zA-Z]+/[\w.+-]+(\(.*\))?(,|$)")
_REF_RE = re.compile(r"^([A-Za-z_][\w-]*)\.([\w%-]*)$")
_PROP_RE = re.compile(r"^([A-Za-z_][\w-]*(?:::[\w-]+)?)=(.*)$", re.S)


@dataclass
class _Node:
    kind: str  # "element", "ref", "caps"
    element: Element | None = None
    ref_name: str = ""
    pad: str | None = None
    caps: Caps | None = None
    tok: Token | None = None


@dataclass
class _Link:
    src: _Node
    dst: _Node
    caps: Caps | None
    tok: Token


def parse_launch(description: str, pipeline: Pipeline | None = None) -> Pipeline:
    """Build a :class:`Pipeline` from a gst-launch style description.

    >>> p = parse_launch("videotestsrc num-buffers=10 ! videoconvert ! fakesink")  # doctest: +SKIP
    """
    text = description.strip()
    tokens = tokenize(text)
    if not tokens:
        raise LaunchError("empty pipeline description", text, 0, 1)
    pipe = pipeline or Pipeline()
    links: list[_Link] = []
    prev: _Node | None = None
    pending_link: Token | None = None
    pending_caps: Caps | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "link":
            if prev is None or pending_link is not None:
                raise LaunchError("link without source element", text, tok.start, tok.end)
            pending_link = tok
            i += 1
            continue
        word = tok.text
        if _CAPS_RE.match(word) and "=" not in word.split(",")[0]:
            # caps filter: gather words until the next "!" (gst-launch allows spaces after commas)
            j, parts, end = i, [], tok.end
            while j < len(tokens) and tokens[j].kind == "word":
                if j > i and not (parts[-1].endswith(",") or tokens[j].text.startswith(",")):
                    break
                parts.append(tokens[j].text)
                end = tokens[j].end
                j += 1
            caps_text = " ".join(parts)
            try:
                caps = Caps.from_string(caps_text)
            except CapsError as e:
                raise LaunchError(f"invalid caps: {e}", text, tok.start, end) from None
            if pending_link is None or prev is None:
                raise LaunchError("caps must stand between two linked elements (a ! caps ! b)", text, tok.start, end)
            if pending_caps is not None:
                raise LaunchError("two caps filters in a row", text, tok.start, end)
            pending_caps = caps
            # the caps need a following "!"
            if j >= len(tokens) or tokens[j].kind != "link":
                raise LaunchError("caps filter must be followed by '!' and an element", text, tok.start, end)
            i = j + 1  # keep pending_link: the element after the caps' "!" closes it
            continue
        m = _REF_RE.match(word)
        if m and "=" not in word:
            node = _Node("ref", ref_name=m.group(1), pad=m.group(2) or None, tok=tok)
            i += 1
        else:
            factory = word
            if not re.fullmatch(r"[A-Za-z_][\w-]*", factory):
                raise LaunchError(f'syntax error: unexpected "{word}"', text, tok.start, tok.end)
            if find_factory(factory) is None:
                raise LaunchError(f'no element "{factory}"{suggest(factory, factory_names())}', text, tok.start, tok.end)
            element = make_element(factory)
            i += 1
            while i < len(tokens) and tokens[i].kind == "word" and _PROP_RE.match(tokens[i].text):
                ptok = tokens[i]
                pm = _PROP_RE.match(ptok.text)
                assert pm is not None
                key, value = pm.group(1), pm.group(2)
                try:
                    if key == "name":
                        if pipe.get_by_name(value) is not None:
                            raise PropertyError(f'an element named "{value}" exists already', element.name, "name")
                    element.set_property(key, value)
                except PropertyError as e:
                    raise LaunchError(str(e), text, ptok.start, ptok.end) from None
                i += 1
            pipe.add(element)
            node = _Node("element", element=element, tok=tok)
        if pending_link is not None and prev is not None:
            links.append(_Link(prev, node, pending_caps, pending_link))
            pending_link, pending_caps = None, None
        prev = node
    if pending_link is not None:
        raise LaunchError("link without sink element", text, pending_link.start, pending_link.end)

    for link in links:
        _make_link(pipe, link, text)
    return pipe


def _resolve(pipe: Pipeline, node: _Node, text: str) -> Element:
    if node.kind == "element":
        assert node.element is not None
        return node.element
    el = pipe.get_by_name(node.ref_name)
    if el is None:
        assert node.tok is not None
        names = [e.name for e in pipe.elements]
        raise LaunchError(f'no element named "{node.ref_name}"{suggest(node.ref_name, names)}', text,
                          node.tok.start, node.tok.end)
    return el


def _make_link(pipe: Pipeline, link: _Link, text: str) -> None:
    src = _resolve(pipe, link.src, text)
    dst = _resolve(pipe, link.dst, text)
    src_pad_name = link.src.pad if link.src.kind == "ref" else None
    dst_pad_name = link.dst.pad if link.dst.kind == "ref" else None
    tok = link.tok
    try:
        if link.caps is not None:
            cf = make_element("capsfilter", caps=link.caps)
            pipe.add(cf)
            _link_or_defer(src, src_pad_name, cf, None)
            cf.link_pads(None, dst, dst_pad_name)
        else:
            _link_or_defer(src, src_pad_name, dst, dst_pad_name)
    except LinkError as e:
        start = link.src.tok.start if link.src.tok else tok.start
        end = link.dst.tok.end if link.dst.tok else tok.end
        raise LaunchError(f"could not link {src.name} to {dst.name}: {e}", text, start, end) from None


def _link_or_defer(src: Element, src_pad: str | None, dst: Element, dst_pad: str | None) -> None:
    """Link now, or when ``src`` adds a matching 'sometimes' pad (as uridecodebin does)."""
    has_pad = (src_pad in src.pads) if src_pad else any(p.peer is None for p in src.src_pads)
    sometimes = any(t.direction is PadDirection.SRC and t.presence is PadPresence.SOMETIMES for t in src.PAD_TEMPLATES)
    if not has_pad and sometimes:
        sink = dst._pad_for_link(dst_pad, PadDirection.SINK)

        def on_pad_added(element: Element, pad, *_):
            if sink.peer is None and (src_pad is None or pad.name == src_pad) and pad.direction is PadDirection.SRC:
                pad.link(sink)

        src.connect("pad-added", on_pad_added)
        src.deferred_links = getattr(src, "deferred_links", 0) + 1
        return
    src.link_pads(src_pad, dst, dst_pad)
