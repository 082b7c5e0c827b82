"""When the program on a pty gets end-of-file after piped input has ended.

A pty has no end of input of its own: end-of-file is the VEOF character (^D), and what it
does depends on how the program reads when the character arrives, not when it was sent:

* in line mode (ICANON: ``cat``, dash, ``read``) a ^D on an empty line makes ``read()``
  return 0, and on an unfinished line hands that line over (the next ^D is then the end);
* a line editor (bash's and Python's readline, zsh's zle, Python 3.13's REPL) reads in
  character mode and takes a ^D byte on an empty line as end-of-file, and does nothing
  with it on a non-empty line;
* a ^D that arrives in line mode and is still unread when the program switches to character
  mode turns into a NUL byte. readline and zle ignore it; Python 3.13's REPL puts it in its
  line, which is then no longer empty. That is how the single ^D sent at the end of piped
  input used to be lost when bash or Python's REPL started after it.

So :class:`EndOfInput` does not send one ^D at the end: it keeps the pty's input at its end,
as a file's stays, by looking at the pty (its mode and whether anything waits to be read)
and sending a ^D whenever the program would otherwise wait for input that will never come:

* in line mode, whenever nothing waits to be read: each read then returns end-of-file,
  which is exactly what a program reading a file at its end gets;
* in character mode, when nothing waits to be read and the mode has changed since the last
  look (a line editor starting to read a line); while the program goes on reading, again
  after :data:`RESEND_MIN` seconds, doubling up to :data:`RESEND_MAX`. This recovers a ^D
  lost to a mode switch between two looks and is rare enough not to flood a program that
  ignores ^D. If a ^D sent in line mode may have become a NUL in the line, the first of
  these repeats is preceded by the erase character (VERASE), which takes the NUL out.

Looks happen when the program writes something and on a timer of :data:`LOOK_MIN` seconds
that doubles up to :data:`LOOK_MAX` while nothing changes. Whether the program ends never
depends on how long it takes to start or to react: a slow machine only delays the looks.

This module decides; it does no I/O (the session loop looks and writes).
"""

from __future__ import annotations

from typing import Optional

#: seconds to the next look after something happened, doubling up to LOOK_MAX while idle
LOOK_MIN = 0.02
LOOK_MAX = 0.5
#: seconds before a line editor that read a ^D and goes on reading gets another, doubling
RESEND_MIN = 0.1
RESEND_MAX = 60.0

#: what :meth:`EndOfInput.look` asks to send
EOF = "eof"  #: the end-of-file character
ERASE_EOF = "erase+eof"  #: the erase character, then the end-of-file character


class EndOfInput:
    """Decides when to send the end-of-file character; see the module docstring."""

    def __init__(self, now: float) -> None:
        #: time of the next look (``time.monotonic()`` seconds)
        self.next_look = now
        self._interval = LOOK_MIN
        self._line_mode: Optional[bool] = None  #: the mode seen at the last look
        self._line_eof_unread = False  #: a ^D sent in line mode was not seen read in line mode
        self._maybe_nul = False  #: ...and the program has since switched to character mode
        self._char_sent_at: Optional[float] = None  #: last ^D sent in character mode
        self._resend = RESEND_MIN

    def activity(self, now: float) -> None:
        """The program wrote something: look again soon."""
        self._interval = LOOK_MIN
        if self.next_look > now + LOOK_MIN:
            self.next_look = now + LOOK_MIN

    def look(self, now: float, line_mode: bool, waiting: Optional[bool]) -> Optional[str]:
        """What to send now: :data:`EOF`, :data:`ERASE_EOF` or None.

        ``line_mode``: ICANON is set on the pty; ``waiting``: input (or a ^D) waits to be
        read, None when that can't be seen (then a ^D goes at the first look and on every
        change of mode).
        """
        changed = line_mode != self._line_mode
        self._line_mode = line_mode
        if changed:
            self._resend = RESEND_MIN
        if line_mode:
            if waiting is False:
                self._line_eof_unread = False  # it was read in line mode: end-of-file
        elif self._line_eof_unread:
            self._line_eof_unread = False
            self._maybe_nul = True
        send: Optional[str] = None
        if waiting is None:
            send = EOF if changed else None
        elif waiting:
            send = None
        elif line_mode:
            send = EOF
        elif changed or self._char_sent_at is None:
            send = EOF
        elif now >= self._char_sent_at + self._resend:
            self._resend = min(self._resend * 2, RESEND_MAX)
            send = EOF
            if self._maybe_nul:
                self._maybe_nul = False
                send = ERASE_EOF
        if send is not None:
            if line_mode:
                self._line_eof_unread = True
            else:
                self._char_sent_at = now
        self._interval = LOOK_MIN if (send or changed) else min(self._interval * 2, LOOK_MAX)
        self.next_look = now + self._interval
        if waiting is False and not line_mode and self._char_sent_at is not None:
            self.next_look = min(self.next_look, self._char_sent_at + self._resend)
        return send
