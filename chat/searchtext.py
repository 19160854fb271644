"""What search indexes: a message's text folded and split into words, written with the
message (``messages.search_text``) by whoever writes its body, and the same folding for
queries (``search.py``).

- Folding (``fold``): compatibility decomposition (NFKD), case folding, accents and
  other optional marks dropped (Latin, Greek and Cyrillic accents, Hebrew points,
  Arabic vowel marks), a few letters that do not decompose spelt out (``ø`` → ``o``,
  ``æ`` → ``ae``, ``ł`` → ``l``…), then NFKC. ``Café`` and ``CAFE`` are both ``cafe``;
  marks that letters cannot do without (Thai vowels, Devanagari signs, Japanese voicing
  marks) stay.
- Words (``tokens``): runs of letters, marks and digits; anything else separates them.
  Text in a script written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar)
  gives one token per character: that character and the next of the run (a bigram), or
  the character alone when it ends the run. ``東京都`` is ``東京 京都 都``, so a
  substring is a run of tokens one after another, and a query can find ``京都`` in it.

Whoever writes ``messages.body`` writes ``search_text = document(body)`` with it: the
group commit's INSERT, an edit, a delete (both NULL).
"""

from __future__ import annotations

import re
import unicodedata

# A word longer than this is indexed by its first characters (PostgreSQL refuses lexemes
# over 2,046 bytes); a query word is cut the same way, so it still matches.
MAX_TOKEN_LENGTH = 100

# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer; Chinese
# (Han, Bopomofo) and Japanese (Han, kana, iteration marks). Hangul is written with
# spaces and is split into words like Latin.
_UNSPACED_BLOCKS = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # iteration mark, closing mark, ideographic zero
    (0x3021, 0x303C),  # Hangzhou numerals, kana repeat marks
    (0x3040, 0x31FF),  # Hiragana, Katakana, Bopomofo, Kanbun, Katakana extension
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended B
    (0xAA60, 0xAA7F),  # Myanmar extended A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x1B000, 0x1B16F),  # Kana supplement and extended
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)

# Marks a reader does without: accents on Latin, Greek and Cyrillic letters, Hebrew
# points, Arabic vowel marks, and variation selectors (an emoji's U+FE0F). (Only the
# nonspacing marks of these blocks.)
_OPTIONAL_MARK_BLOCKS = (
    (0x0300, 0x036F),
    (0x0591, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE00, 0xFE0F),
    (0xFE20, 0xFE2F),
)

# Letters that no decomposition takes apart (after case folding).
_SPELT_OUT = str.maketrans(
    {"ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ŧ": "t"}
    | {"\u0131": "i"}  # dotless i
    | {"æ": "ae", "œ": "oe", "þ": "th"}
)
_HAS_SPELT_OUT = re.compile("[" + "".join(map(chr, _SPELT_OUT)) + "]")


def _char_class(blocks) -> str:
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in blocks)


def _marks() -> tuple[str, str]:
    """Character classes of the marks of the Basic Multilingual Plane (found once at
    import, ~15 ms), and of the optional ones among them."""
    marks = [c for c in range(0x10000) if unicodedata.category(chr(c)).startswith("M")]
    optional = [c for c in marks if any(a <= c <= b for a, b in _OPTIONAL_MARK_BLOCKS)]

    def ranges(codes: list[int]) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for code in codes:
            if found and found[-1][1] == code - 1:
                found[-1] = (found[-1][0], code)
            else:
                found.append((code, code))
        return found

    return _char_class(ranges(marks)), _char_class(ranges(optional))


_MARKS, _OPTIONAL = _marks()
_OPTIONAL_MARKS = re.compile(f"[{_OPTIONAL}]+")
# A word: letters and digits (Python's \w without "_"), and after its first character
# the marks that many scripts (Devanagari, Thai...) write inside words, which \w leaves
# out. Text without marks takes the plain pattern, several times faster.
_WORDS = re.compile(r"[^\W_]+")
_MARKED_WORDS = re.compile(f"[^\\W_](?:[^\\W_]+|[{_MARKS}]+)*+")
_HAS_MARK = re.compile(f"[{_MARKS}]")
_ASCII_WORDS = re.compile(r"[a-z0-9]+")
_UNSPACED_CLASS = _char_class(_UNSPACED_BLOCKS)
_UNSPACED = re.compile(f"[{_UNSPACED_CLASS}]")
_ALL_UNSPACED = re.compile(f"[{_UNSPACED_CLASS}]+")
_UNSPACED_RUNS = re.compile(f"([{_UNSPACED_CLASS}]+)|[^{_UNSPACED_CLASS}]+")


def fold(text: str) -> str:
    """The text as search compares it: case, accents and compatibility forms folded."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text).casefold()
    if _HAS_SPELT_OUT.search(text):  # translate is slow: a dict lookup per character
        text = text.translate(_SPELT_OUT)
    return unicodedata.normalize("NFKC", _OPTIONAL_MARKS.sub("", text))


def _ascii_words(folded: str) -> list[str]:
    words = _ASCII_WORDS.findall(folded)
    if any(len(word) > MAX_TOKEN_LENGTH for word in words):
        words = [word[:MAX_TOKEN_LENGTH] for word in words]
    return words


def tokens(text: str) -> list[tuple[str, int]]:
    """The words of some text as search indexes them, in order: (token, run length),
    where a spaced word has run length 0 and a character of an unspaced run the length
    of its run (its token is the bigram it starts, or itself when it ends the run)."""
    return _tokens(fold(text))


def _tokens(folded: str) -> list[tuple[str, int]]:
    if folded.isascii():
        return [(word, 0) for word in _ascii_words(folded)]
    found: list[tuple[str, int]] = []
    for piece, unspaced in _pieces(folded):
        if unspaced:
            found.extend((piece[i : i + 2], len(piece)) for i in range(len(piece)))
        else:
            found.append((piece, 0))
    return found


def _pieces(folded: str):
    """The words of folded text, and the runs of unspaced scripts in them: (text,
    unspaced), a spaced word cut to MAX_TOKEN_LENGTH."""
    words = _MARKED_WORDS if _HAS_MARK.search(folded) else _WORDS
    for word in words.findall(folded):
        if not _UNSPACED.search(word):
            yield word[:MAX_TOKEN_LENGTH], False
        elif _ALL_UNSPACED.fullmatch(word):
            yield word, True
        else:
            for part in _UNSPACED_RUNS.finditer(word):
                run = part[1]
                yield (part[0][:MAX_TOKEN_LENGTH], False) if run is None else (run, True)


def document(body: str | None) -> str | None:
    """What ``messages.search_text`` holds for this body: its tokens separated by single
    spaces (None for a deleted message, or one without a word)."""
    if body is None:
        return None
    folded = fold(body)
    if folded.isascii():  # most messages: a few microseconds on the send path
        return " ".join(_ascii_words(folded)) or None
    words = []
    for piece, unspaced in _pieces(folded):
        if unspaced:
            words += [piece[i : i + 2] for i in range(len(piece))]
        else:
            words.append(piece)
    return " ".join(words) or None
