"""Redaction: secrets in the output (and captured input) become ``*`` before any output sees them.

Matching is on the *visible text*: the text with escape sequences (CSI, OSC, DCS and the
other strings, charset designations, ESC 7...) taken out, so a token printed in colour or
with ``ESC[K`` in the middle is still one string to the patterns. Control characters (line
breaks, tabs) stay in the visible text and are never masked. Each visible character of a
match becomes ``*`` of the same display width (``**`` for a wide character, nothing for a
zero-width one), so the layout on the screen is kept; the escape sequences inside a match
are kept too (colours still apply).

Taking the escape sequences out costs about a quarter of a microsecond each, most of the
time spent on coloured output. Each preset also has a *raw* pattern that finds, in the
output with its escape sequences still in, every place where a match of it could start (see
:mod:`asciinema.redact_presets`): where none is found the output goes on as it is, and
otherwise the visible text is made from there, for a :data:`WINDOW` of output, and the
rest is looked at again. A user's ``--redact`` pattern that starts with a fixed string
(``hunter[0-9]+``) gets a raw pattern from it; with one that doesn't (``[a-z]+=secret``),
the visible text is made of all the output.

Text comes in pieces (reads) and a secret can be split between them, so each stream (output
and input separately) holds back its last :data:`HOLD` characters (escape sequences
included), which could still be the start of a match, and lets them go when more text
pushes them out, or :data:`HOLD_US` after they came, or at a flush. Released text keeps the times of the events it
came in (moved no earlier than the last event passed on).

Limits, by design:

* A match is caught whole if it spans at most :data:`HOLD` characters of output (escape
  sequences inside it included); the presets match at most :data:`MAX_MATCH` visible
  characters. A longer one (a user pattern such as ``secret=.*``) can be cut into pieces,
  and the pieces after the first are caught only if the pattern matches them on their own.
* Text that stops for more than :data:`HOLD_US` in the middle of a secret is released as it
  stands: the two halves are matched apart.
* Matching is on the order in which characters are written, not on where they land: a secret
  drawn out of order by cursor addressing, or erased and redrawn, is not recognised.
* At most :data:`MAX_HELD` characters (escape sequences included) are held: beyond that, held
  text goes out at once, as at the deadline.

A PEM private key is a block: its ``-----BEGIN ... PRIVATE KEY-----`` line starts it, and the
body lines (base64, ``Proc-Type:``-style headers) are masked as they come, with no limit of
length, until the ``-----END`` line or any other line; the BEGIN and END lines stay.

Pure: no I/O, the time is passed in.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from asciinema.asciicast import INPUT, OUTPUT, Event, Header, make_event
from asciinema.errors import AsciinemaError
from asciinema.redact_presets import BLOCK_PRESET, ESCAPE, ESCAPES, LEAD_MAX, PRESETS, raw_literal

if TYPE_CHECKING:
    from asciinema.capture import Filter

#: the longest match of a preset, in visible characters
MAX_MATCH = 1024
#: what each stream holds back, in characters of output: a match of MAX_MATCH visible
#: characters with as many characters of escape sequences inside it
HOLD = 2 * MAX_MATCH
#: held text goes out this long (µs of session time) after it came
HOLD_US = 1_000_000
#: at most this many characters (escape sequences included) are held per stream
MAX_HELD = 1 << 18
#: an unfinished escape sequence longer than this (an inline image) goes out unfinished
MAX_ESCAPE = 1 << 16
#: where the raw patterns find a place where a match could start, the visible text is made
#: of this many characters of output from there (and the :data:`HOLD` after them, where a
#: match that starts in them could end); the rest is looked at again
WINDOW = 1 << 13
#: visible characters kept after the released text, for the patterns' look-behinds
_CONTEXT = 16

# One complete escape sequence (a group, so that split keeps them).
_ESCAPE = re.compile(f"({ESCAPE})")
# An escape sequence that the end of the text cuts short (matched from its ESC).
_UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[PX^_][^\x1b]*|[ -/]*)\Z")
_ASCII_PRINTABLE = re.compile(r"[ -~]+")
# The body of a PEM block: base64 lines, RFC 1421 headers, line breaks.
_PEM_BODY = re.compile(r"(?:[A-Za-z][A-Za-z-]*:[^\r\n]*|[A-Za-z0-9+/=]+|[ \t\r\n]+)*")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----")


class PatternError(AsciinemaError):
    """A --redact pattern that doesn't compile, or an unknown preset."""


def compile_pattern(regex: str) -> Pattern[str]:
    """A user's pattern (``--redact``, ``session.redact``) compiled; ValueError saying why it
    can't be used (one that matches the empty string matches everywhere and masks nothing)."""
    try:
        compiled = re.compile(regex)
    except (re.error, OverflowError, RecursionError) as e:
        raise ValueError(str(e)) from None
    if compiled.fullmatch("") is not None:
        raise ValueError("it matches the empty string")
    return compiled


# What ends the fixed string at the start of a pattern; a quantifier also takes back the
# character before it.
_SPECIAL = frozenset(".^$*+?{}[]()|\\")
_QUANTIFIERS = frozenset("*?{")
# Inline flags change how the fixed string matches (ignore case, verbose).
_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux-]*[aiLmsux]")


def literal_prefix(regex: str) -> str:
    """The fixed string every match of ``regex`` starts with, as far as a plain reading of it
    tells; "" where it can't (alternatives, inline flags, a class or a group first)."""
    if "|" in regex or _INLINE_FLAGS.search(regex):
        return ""
    prefix: List[str] = []
    i = 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            if i + 1 >= len(regex) or regex[i + 1].isalnum():  # \d, \b, \1, \x41...
                break
            c = regex[i + 1]
            i += 2
        elif c in _SPECIAL:
            break
        else:
            i += 1
        if i < len(regex) and regex[i] in _QUANTIFIERS:  # this one may not be there at all
            break
        prefix.append(c)
    return "".join(prefix)


def mask(text: str) -> str:
    """``text`` with each printable character replaced by ``*`` of its display width."""
    if text.isascii():
        return _ASCII_PRINTABLE.sub(lambda m: "*" * len(m.group()), text)
    # the width tables load only when a match is not ASCII; pyte, which has types, re-exports it
    from pyte.screens import wcwidth

    out = []
    for ch in text:
        if ch < " " or "\x7f" <= ch < "\xa0":
            out.append(ch)
            continue
        w = wcwidth(ch)
        out.append("*" * w if w > 0 else "" if w == 0 else ch)
    return "".join(out)


class _Gate:
    """Where the matches of patterns whose raw patterns start with the same character (and
    have the same lead) can be in the output; compiled when first needed (they are long, and
    the needles often keep them idle).

    The regular expression engine looks for the first character a byte at a time; ``find``
    does it many bytes at a time. Where that character is rare, each place it is at is tried
    on its own; where it is not (more than once in :data:`_FIND_SPACING` characters), the
    engine looks for it, and goes on doing so for the next :data:`_DENSE_CALLS` pieces.
    """

    def __init__(self, needles: List[Tuple[str, ...]], first: str, rest: str, lead: str) -> None:
        self.needles = needles  #: one-character needles of each pattern: one of them all there
        self.char = first[-1]  #: the first character (``first`` may be escaped)
        self.source = first + rest
        self.regex: Optional[Pattern[str]] = None
        #: what the visible text must end with right before a match of ``regex``, or None
        self.lead = re.compile(f"(?:{lead})\\Z") if lead else None
        self.dense = 0  #: pieces of output still to search with the engine alone

    def search(self, output: str, pos: int, end: int) -> Optional["re.Match[str]"]:
        """The first match at or after ``pos`` that starts before ``end``."""
        if self.regex is None:
            self.regex = re.compile(self.source)
        if self.dense:
            self.dense -= 1
        else:
            match, find, char = self.regex.match, output.find, self.char
            i = find(char, pos, end)
            for _ in range(max(1, (min(end, len(output)) - pos) // _FIND_SPACING)):
                if i < 0:
                    return None
                m = match(output, i)
                if m is not None:
                    return m
                i = find(char, i + 1, end)
            if i < 0:
                return None
            self.dense = _DENSE_CALLS
            pos = i
        m = self.regex.search(output, pos)
        return m if m is not None and m.start() < end else None


#: a gate's first character is tried place by place where it is at most once in this many
#: characters (measured: a place tried costs about what the engine takes to read 600)
_FIND_SPACING = 1024
#: where it was more often, the engine alone looks for it in this many pieces that follow
_DENSE_CALLS = 16


class Patterns:
    """The compiled patterns of one session, each searched on its own (see
    :mod:`asciinema.redact_presets` for why they are not joined into one)."""

    def __init__(self, regexes: Sequence[str] = (), presets: Sequence[str] = ()) -> None:
        #: (pattern, the group to mask or None for the whole match, whether it opens a block)
        self.matchers: List[Tuple[Pattern[str], Optional[str], bool]] = []
        #: what each match of a matcher contains (see :mod:`asciinema.redact_presets`)
        self.needles: List[Tuple[str, ...]] = []
        #: where the matches can start in the output with its escape sequences in (see
        #: :meth:`first_start`); None if a pattern can't tell (a user's that doesn't start
        #: with a fixed string)
        self.gates: Optional[List[_Gate]] = None
        #: (first character, lead) -> the one-character needles and the rest of each raw
        #: pattern: one search for the patterns that start with the same character
        gates: Dict[Tuple[str, str], List[Tuple[Tuple[str, ...], str]]] = {}
        gated = True

        def gate(raw: str, lead: str, needles: Iterable[str]) -> None:
            first = raw[:2] if raw[0] == "\\" else raw[0]
            gates.setdefault((first, lead), []).append((tuple(n for n in needles if len(n) == 1), raw[len(first):]))

        for name in dict.fromkeys(presets):
            if name not in PRESETS:
                raise PatternError(f"unknown redaction preset {name!r} (known: {', '.join(PRESETS)})")
            for pattern in PRESETS[name]:
                compiled = re.compile(pattern.regex)
                self.matchers.append((compiled, "s" if "s" in compiled.groupindex else None, name == BLOCK_PRESET))
                self.needles.append(pattern.needles)
                gate(pattern.raw, pattern.lead, pattern.needles)
        for regex in regexes:
            try:
                compiled = compile_pattern(regex)
            except ValueError as e:
                raise PatternError(f"invalid --redact pattern {regex!r}: {e}") from None
            self.matchers.append((compiled, None, False))
            prefix = literal_prefix(regex)
            self.needles.append((prefix,) if prefix else ())
            if prefix:  # its raw pattern: the fixed string with escape sequences anywhere
                gate(raw_literal(prefix), "", dict.fromkeys(prefix))
            else:
                gated = False
        if gated:
            self.gates = [_Gate([chars for chars, _ in group], first, _alternatives([r for _, r in group]), lead)
                          for (first, lead), group in gates.items()]

    def __bool__(self) -> bool:
        return bool(self.matchers)

    def first_start(self, output: str) -> int:
        """The first place in ``output`` (escape sequences in) where a match in its visible
        text could start, or ``len(output)`` where none can. Only where every pattern has a
        raw one (``gates``).

        A character missing from the output is missing from its visible text too, so the
        one-character needles are looked for first, at the speed of ``memchr``.
        """
        first = len(output)
        for gate in self.gates or ():
            for chars in gate.needles:
                for c in chars:
                    if c not in output:
                        break
                else:  # this preset's needles are all there
                    break
            else:
                continue
            pos = 0
            # a match that starts after this doesn't start (its lead neither) before `first`
            end = first + HOLD if gate.lead else first
            while True:
                m = gate.search(output, pos, end)
                if m is None:
                    break
                start = m.start() if gate.lead is None else _lead_start(output, m.start(), gate.lead)
                if start is None:  # not after the lead: look further on
                    pos = m.start() + 1
                    continue
                first = min(first, start)
                break
        return first

    def scan(self, text: str, pos: int, cut: int, block: bool) -> Tuple[List[Tuple[int, int]], int, bool]:
        """The spans to mask in ``text[pos:]`` among matches that start before ``cut``.

        Returns the spans (in order, not overlapping), the new cut (moved to the end of a
        match or block that started before it) and whether a PEM block is still open there.
        """
        spans: List[Tuple[int, int]] = []
        end = len(text)
        found: List[Optional["re.Match[str]"]] = [None] * len(self.matchers)
        exhausted = [not all(needle in text for needle in needles) for needles in self.needles]
        while pos < cut:
            if block:
                body_end = _PEM_BODY.match(text, pos).end()  # type: ignore[union-attr]  # it can match nothing
                if body_end == end:  # the body may go on in the text to come
                    spans.append((pos, cut))
                    return spans, cut, True
                if pos < body_end:
                    spans.append((pos, body_end))
                block = False
                pos = body_end
                cut = max(cut, pos)
                continue
            best: Optional["re.Match[str]"] = None
            best_i = 0
            for i, (matcher, _, _) in enumerate(self.matchers):
                if exhausted[i]:
                    continue
                m = found[i]
                if m is None or m.start() < pos:
                    m = found[i] = matcher.search(text, pos)
                    if m is None:
                        exhausted[i] = True
                        continue
                if best is None or m.start() < best.start() or (m.start() == best.start() and m.end() > best.end()):
                    best, best_i = m, i
            if best is None or best.start() >= cut:
                break
            if best.end() == best.start():  # an empty match of a user pattern: step over it
                pos = best.start() + 1
                continue
            _, secret, opens_block = self.matchers[best_i]
            if opens_block:
                block = True
            else:
                a, b = best.span(secret) if secret is not None else best.span()
                if spans and spans[-1][1] > a:  # overlapping matches of different patterns
                    a = spans[-1][1]
                if a < b:
                    spans.append((a, b))
            pos = best.end()
            cut = max(cut, pos)
        return spans, cut, block

    def redact_text(self, text: str) -> str:
        """All of ``text`` at once (a title, a command line)."""
        stream = _Stream(self)
        stream.add(0, text)
        return "".join(t for _, t in stream.release(True))


class _Stream:
    """The held text of one stream (output or input) and where a PEM block is open."""

    def __init__(self, patterns: Patterns) -> None:
        self.patterns = patterns
        self.chunks: List[Tuple[int, str]] = []  #: held (time, text), in order
        self.held = 0  #: characters held
        self.opener = ""  #: the start of an escape sequence whose rest is held
        self.context = ""  #: the last visible characters released
        self.block = False
        #: the first known_length characters of what is held parse to known_visible
        self.known_length = 0
        self.known_visible = ""

    def add(self, time: int, text: str) -> None:
        self.chunks.append((time, text))
        self.held += len(text)

    def since(self) -> Optional[int]:
        """The time of the oldest held text, or None."""
        return self.chunks[0][0] if self.chunks else None

    def release(self, final: bool) -> List[Tuple[int, str]]:
        """The (time, text) that can go now: all if ``final``; else all but what could still
        be part of a match."""
        out: List[Tuple[int, str]] = []
        while self.chunks:
            part, more = self._release(final)
            out.extend(part)
            if not more:
                break
        return out

    def _release(self, final: bool) -> Tuple[List[Tuple[int, str]], bool]:
        """What :meth:`release` lets go, and whether it stopped short at a :data:`WINDOW` to
        look at the rest again (the rest to go now may need no visible text at all)."""
        if not self.chunks:
            return [], False
        if self.held > MAX_HELD:
            final = True
        base = len(self.opener)
        joined = "".join([t for _, t in self.chunks]) if len(self.chunks) > 1 else self.chunks[0][1]
        s = self.opener + joined if base else joined
        body = s
        unfinished = None
        i = s.rfind("\x1b")
        if i >= 0 and _UNFINISHED.match(s, i):
            unfinished = i
            body = s[:i]
            if len(s) - i > MAX_ESCAPE:
                final = True
        escapes = "\x1b" in body
        # The text before `hold` goes out unless a match that starts there runs on past it.
        if final:
            hold = len(body)
        else:
            hold = max(0, len(body) - HOLD)
            if escapes and hold > 0:  # not inside an escape sequence
                e = body.rfind("\x1b", 0, hold + 1)
                if e >= 0:
                    m = _ESCAPE.match(body, e)
                    if m is not None and m.end() > hold:
                        hold = e
        raws: List[int] = []  # where the blocks parsed one at a time start in body...
        viss: List[int] = []  # ...and in the visible text
        # The visible text is made from where the first match could start, or not at all (an
        # open PEM block goes on wherever the text is: it is looked at from the start).
        start = 0
        end = len(body)  # the visible text is made up to here
        more = False
        context = self.context
        if escapes and self.patterns.gates is not None and not self.block:
            start = self.patterns.first_start(body)
            if start >= hold:  # nothing that can go now starts a match
                self.known_length, self.known_visible = 0, ""
                self.context = _visible_before(body, hold, self.context)
                return self._cut(s, base, unfinished, len(s) if final else hold, []), False
            start = _sync(body, start)
            context = _visible_before(body, start, self.context)
            if start + WINDOW < hold:  # go up to the window's end, then look at the rest again
                hold = _boundary(body, start + WINDOW, start)
                end = min(len(body), _boundary(body, hold + HOLD, len(body)))
                final, more = False, True
        if not escapes:
            visible = body
            cut = hold
        else:
            pieces: List[str] = []
            # what the last call left held parses as it did then: no need to do it again
            known = self.known_length if start == 0 and self.known_length <= hold else 0
            if known:
                raws.append(0)
                viss.append(0)
                pieces.append(self.known_visible)
            v = len(self.known_visible) if known else 0
            for r0, r1 in _blocks(body, max(known, start), hold) + [(hold, end)]:
                text = _ESCAPE.sub("", body[r0:r1])
                raws.append(r0)
                viss.append(v)
                pieces.append(text)
                v += len(text)
            tail = pieces[-1]
            visible = "".join(pieces)
            cut = len(visible) - len(tail)
        self.known_length, self.known_visible = 0, ""
        n = len(visible)
        spans: List[Tuple[int, int]] = []
        moved = False
        if self.patterns:
            ctx = len(context)
            spans, new_cut, self.block = self.patterns.scan(context + visible, ctx, cut + ctx, self.block)
            new_cut -= ctx
            moved = new_cut != cut
            cut = new_cut
            if spans:
                spans = [(a - ctx, b - ctx) for a, b in spans]
        self.context = (context + visible[max(0, cut - _CONTEXT):cut])[-_CONTEXT:]

        edits: List[Tuple[int, int]] = []
        if not escapes:
            edits = spans
            raw_cut = len(s) if final else cut
        else:
            if final:
                raw_cut = len(s)
            elif cut >= n:
                raw_cut = end
            elif not moved and not spans:
                raw_cut = hold
                self.known_length, self.known_visible = end - hold, tail
            else:
                raw_cut = -1
            if spans or raw_cut < 0:
                where = _Map(body, raws, viss)
                if raw_cut < 0:
                    raw_cut = where.raw(cut)[0]
                for a, b in spans:
                    while a < b:  # one edit per piece of text between escape sequences
                        ra, piece_end = where.raw(a)
                        stop = min(b, piece_end)
                        edits.append((ra, ra + stop - a))
                        a = stop
        return self._cut(s, base, unfinished, raw_cut, edits), more

    def _cut(self, s: str, base: int, unfinished: Optional[int], raw_cut: int,
             edits: List[Tuple[int, int]]) -> List[Tuple[int, str]]:
        """Let the held text (``s`` after the opener of ``base`` characters) go up to
        ``raw_cut``, with the spans of ``edits`` masked; keep the rest."""
        out: List[Tuple[int, str]] = []
        keep: List[Tuple[int, str]] = []
        ei = 0
        c0 = base
        for time, text in self.chunks:
            c1 = c0 + len(text)
            if c0 >= raw_cut:
                keep.append((time, text))
            else:
                hi = min(c1, raw_cut)
                if ei < len(edits) and edits[ei][0] < hi:
                    seg = []
                    p = c0
                    while ei < len(edits) and edits[ei][0] < hi:
                        a, b = edits[ei]
                        a = max(a, p)
                        bb = min(b, hi)
                        seg.append(s[p:a])
                        seg.append(mask(s[a:bb]))
                        p = bb
                        if b > hi:
                            break
                        ei += 1
                    seg.append(s[p:hi])
                    piece = "".join(seg)
                else:
                    piece = text if hi == c1 else text[:hi - c0]
                if piece:
                    out.append((time, piece))
                if hi < c1:
                    keep.append((time, text[hi - c0:]))
            c0 = c1
        if raw_cut > base:
            self.opener = s[unfinished:unfinished + 2] if unfinished is not None and raw_cut > unfinished else ""
        self.chunks = keep
        self.held = sum([len(t) for _, t in keep])
        return out


#: the visible text is made a block of this many characters of output at a time, so that a
#: match maps back to the output by parsing its block again, not all the output
_BLOCK = 1 << 13


def _sync(body: str, pos: int) -> int:
    """``pos``, or the start of the escape sequence that it is inside."""
    x = body.rfind("\x1b", 0, pos + 1)
    if x >= 0:
        m = _ESCAPE.match(body, x)
        if m is not None and m.end() > pos:
            return x
    return pos


def _alternatives(rests: List[str]) -> str:
    """One regular expression for any of ``rests``, the escape sequences they all allow
    first taken out of the alternatives (tried once, not once for each)."""
    if len(rests) > 1 and all(r.startswith(ESCAPES) for r in rests):
        return ESCAPES + "(?:" + "|".join(r[len(ESCAPES):] for r in rests) + ")"
    return "(?:" + "|".join(rests) + ")"


def _visible_tail(body: str, end: int, count: int) -> Tuple[int, str]:
    """A place before ``body[end]``, not inside an escape sequence, and the visible text from
    there to ``end``: at least ``count`` characters of it, or all there is from the start."""
    start, step = end, 4 * count
    while True:
        start = _sync(body, max(0, start - step))
        visible = _ESCAPE.sub("", body[start:end])
        if start == 0 or len(visible) >= count:
            return start, visible
        step *= 2


def _lead_start(body: str, end: int, lead: Pattern[str]) -> Optional[int]:
    """Where, at the latest, the visible text that ``lead`` matches right before ``body[end]``
    starts in ``body``, or None if it doesn't end so (or not within ``body``: a match that
    starts in text already let go can't be masked)."""
    start, visible = _visible_tail(body, end, LEAD_MAX)
    return start if lead.search(visible) else None


def _boundary(body: str, pos: int, floor: int) -> int:
    """``pos``, or if it is inside an escape sequence, where that starts, or where it ends
    if it starts at or before ``floor``."""
    x = _sync(body, pos)
    if x == pos or x > floor:
        return x
    m = _ESCAPE.match(body, x)
    return m.end() if m is not None else pos


def _visible_before(body: str, end: int, context: str) -> str:
    """The last :data:`_CONTEXT` visible characters before ``body[end]`` (not inside an
    escape sequence); ``context`` holds those before ``body``."""
    start, visible = _visible_tail(body, end, _CONTEXT)
    return ((context + visible) if start == 0 else visible)[-_CONTEXT:]


def _blocks(body: str, start: int, end: int) -> List[Tuple[int, int]]:
    """``body[start:end]`` cut into blocks of about :data:`_BLOCK`, none inside an escape
    sequence (``start`` and ``end`` are not inside one)."""
    blocks = []
    r = start
    while r < end:
        e = end if r + _BLOCK >= end else _boundary(body, r + _BLOCK, r)
        blocks.append((r, e))
        r = e
    return blocks


class _Map:
    """Visible positions to positions in the output: the block that holds one is read again
    from its start, or from where the last question left off (they mostly come in order)."""

    def __init__(self, body: str, raws: List[int], viss: List[int]) -> None:
        self.body = body
        self.raws = raws
        self.viss = viss
        #: (block, position in the output, visible position) of the last answer's piece of text
        self.at = (-1, 0, 0)

    def raw(self, v: int) -> Tuple[int, int]:
        """Where visible character ``v`` is in the output, and where the piece of text that
        holds it ends (a visible position)."""
        k = bisect_right(self.viss, v) - 1
        end = self.raws[k + 1] if k + 1 < len(self.raws) else len(self.body)
        block, r, vis = self.at
        if block != k or vis > v:
            r, vis = self.raws[k], self.viss[k]
        # blocks end outside escape sequences: one cut short at `end` is cut short there
        for m in _ESCAPE.finditer(self.body, r, end):
            stop = vis + m.start() - r  # the visible position of this escape sequence
            if stop > v:
                break
            vis, r = stop, m.end()
        else:
            stop = vis + end - r
        self.at = (k, r, vis)
        return r + v - vis, stop


class RedactFilter:
    """A capture filter (see :class:`asciinema.capture.Filter`) that redacts output and input.

    Other events (a resize, a marker, the exit) first let all held text go, so that they
    keep their place after the output before them.
    """

    def __init__(self, patterns: Patterns) -> None:
        self.streams = {OUTPUT: _Stream(patterns), INPUT: _Stream(patterns)}
        self.last = 0

    def _events(self, code: str, released: Iterable[Tuple[int, str]]) -> List[Event]:
        events = []
        for time, text in released:
            if time < self.last:
                time = self.last
            self.last = time
            events.append(make_event(time, code, text))
        return events

    def feed(self, event: Event) -> List[Event]:
        time, code, data = event[0], event[1], event[2]
        stream = self.streams.get(code)
        if stream is not None:
            stream.add(time, data)
            return self._events(code, stream.release(False))
        events = self.flush()
        events.extend(self._events(code, [(time, data)]))
        return events

    def deadline(self) -> Optional[int]:
        times = [t for t in (s.since() for s in self.streams.values()) if t is not None]
        return min(times) + HOLD_US if times else None

    def tick(self, now: int) -> List[Event]:
        events: List[Event] = []
        for code, stream in self.streams.items():
            since = stream.since()
            if since is not None and since + HOLD_US <= now:
                events.extend(self._events(code, stream.release(True)))
        return events

    def flush(self) -> List[Event]:
        events: List[Event] = []
        for code, stream in self.streams.items():
            events.extend(self._events(code, stream.release(True)))
        return events


def make_filters(patterns: Patterns, strip_osc: bool = False) -> List[Filter]:
    """The capture filters for these options, in order (OSC stripping first: what it drops
    is not scanned)."""
    filters: List[Filter] = []
    if strip_osc:
        from asciinema.strip_osc import StripOscFilter

        filters.append(StripOscFilter())
    if patterns:
        filters.append(RedactFilter(patterns))
    return filters


def redact_header(header: Header, patterns: Patterns) -> Header:
    """The header with secrets in its command and title masked, as in the events."""
    return header._replace(
        command=None if header.command is None else patterns.redact_text(header.command),
        title=None if header.title is None else patterns.redact_text(header.title),
    )
