"""Read the elements of a JSON array one at a time from a byte stream (memory stays flat)."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 20


class MalformedJSON(ValueError):
    """The stream is not a JSON array of values; `remainder` is the text not parsed."""

    def __init__(self, message: str, remainder: str) -> None:
        super().__init__(message)
        self.remainder = remainder


class _Buffer:
    """Decoded text read from a stream in chunks, with a read position."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.text = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> None:
        """Drop what was consumed and append the next chunk."""
        data = self.stream.read(CHUNK)
        self.eof = not data
        self.text = self.text[self.pos:] + self.decoder.decode(data, final=self.eof)
        self.pos = 0

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end of the stream)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.text) or self.eof:
                return self.text[self.pos: self.pos + 1]
            self.fill()

    def rest(self) -> str:
        """Everything not consumed yet (reads the stream to its end)."""
        parts = [self.text[self.pos:]]
        while data := self.stream.read(CHUNK):
            parts.append(self.decoder.decode(data))
        return "".join(parts)


def iter_json_array(stream: IO[bytes]) -> Iterator[Any]:
    """Each element of the top-level JSON array in stream; MalformedJSON at the first damage."""
    buf = _Buffer(stream)
    decoder = json.JSONDecoder()
    if buf.peek() != "[":
        raise MalformedJSON("not a JSON array", buf.rest())
    buf.pos += 1
    count = 0
    while (c := buf.peek()) != "]":
        if c == ",":
            buf.pos += 1
            continue
        if c == "":
            raise MalformedJSON(f"truncated JSON array after {count} elements", "")
        try:
            value, buf.pos = decoder.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            if buf.eof:
                raise MalformedJSON(f"malformed JSON after {count} elements: {exc.msg}", buf.rest()) from None
            buf.fill()
            continue
        count += 1
        yield value
