"""The WebSocket layer (ws.py) over a socket pair: framing, control frames, and the caps
that refuse oversized, fragmented-oversized and binary messages before reading them."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

import pytest

import ws

LIMIT = 1000


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A frame as a client sends it: masked."""
    mask = mask or os.urandom(4)
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        header = struct.pack("!BB", first, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def read_server_frame(sock) -> tuple[int, bytes]:
    first, second = _exactly(sock, 2)
    n = second & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", _exactly(sock, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", _exactly(sock, 8))
    assert not second & 0x80, "server frames are never masked"
    return first & 0x0F, _exactly(sock, n)


def _exactly(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "closed early"
        data += chunk
    return data


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    client.settimeout(5)
    server.settimeout(5)
    yield ws.WebSocket(server, LIMIT), client
    client.close()
    server.close()


def test_unmask_matches_the_bytewise_definition():
    payload, mask = os.urandom(1001), os.urandom(4)
    expected = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert ws.unmask(payload, mask) == expected
    assert ws.unmask(b"", mask) == b""


def test_text_messages_whole_and_fragmented(pair):
    conn, peer = pair
    peer.sendall(client_frame(ws.TEXT, "héllo".encode()))
    assert conn.wait() == "héllo"
    peer.sendall(
        client_frame(ws.TEXT, b"one ", fin=False)
        + client_frame(ws.PING, b"in between")
        + client_frame(ws.CONTINUATION, b"two", fin=True)
    )
    assert conn.wait() == "one two"
    assert read_server_frame(peer) == (ws.PONG, b"in between")


def test_sending_builds_one_frame_for_equal_texts(pair):
    conn, peer = pair
    text = "42" + "x" * 300
    conn.send(text)
    conn.send("".join(["42", "x" * 300]))  # an equal string, another object
    assert read_server_frame(peer) == (ws.TEXT, text.encode())
    assert read_server_frame(peer) == (ws.TEXT, text.encode())
    assert ws.text_frame(text) is ws.text_frame("".join(["42", "x" * 300]))


def test_a_big_frame_is_refused_from_its_header(pair):
    conn, peer = pair
    # Only the header of a 900 kB frame: the payload is never sent, so a server that
    # tried to read it would block; this one closes at once with 1009.
    peer.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 900_000))
    assert conn.wait() is None
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.TOO_BIG))
    assert peer.recv(1) == b""  # and the connection is gone


def test_a_fragmented_message_is_capped_as_a_whole(pair):
    conn, peer = pair
    chunk = b"x" * 600
    peer.sendall(
        client_frame(ws.TEXT, chunk, fin=False) + client_frame(ws.CONTINUATION, chunk, fin=False)
    )
    assert conn.wait() is None
    assert read_server_frame(peer)[1] == struct.pack("!H", ws.TOO_BIG)


@pytest.mark.parametrize(
    "frames,code",
    [
        ([client_frame(ws.BINARY, b"\x00\x01")], ws.UNSUPPORTED),
        ([client_frame(ws.TEXT, b"\xff\xfe")], ws.INVALID_DATA),
        ([client_frame(ws.CONTINUATION, b"x")], ws.PROTOCOL_ERROR),
        ([client_frame(0x3, b"x")], ws.PROTOCOL_ERROR),
        ([bytes([0x81, 0x02]) + b"hi"], ws.PROTOCOL_ERROR),  # not masked
        ([bytes([0xC1, 0x80]) + b"\x00" * 4], ws.PROTOCOL_ERROR),  # RSV1: no deflate agreed
        ([client_frame(ws.PING, b"x" * 126)], ws.PROTOCOL_ERROR),
        ([client_frame(ws.TEXT, b"a", fin=False), client_frame(ws.TEXT, b"b")], ws.PROTOCOL_ERROR),
    ],
    ids=[
        "binary",
        "bad utf-8",
        "stray continuation",
        "unknown opcode",
        "unmasked",
        "rsv1",
        "long ping",
        "nested message",
    ],
)
def test_protocol_violations_close_with_their_code(pair, frames, code):
    conn, peer = pair
    peer.sendall(b"".join(frames))
    assert conn.wait() is None
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", code))


def test_a_close_frame_is_answered_and_ends_the_connection(pair):
    conn, peer = pair
    peer.sendall(client_frame(ws.CLOSE, struct.pack("!H", 1000)))
    assert conn.wait() is None
    assert read_server_frame(peer)[0] == ws.CLOSE
    with pytest.raises(OSError):
        conn.send("after close")


def test_a_peer_that_vanishes_ends_wait(pair):
    conn, peer = pair
    peer.sendall(b"\x81")  # half a header, then gone
    peer.close()
    assert conn.wait() is None


def test_concurrent_senders_never_interleave_frames(pair):
    conn, peer = pair
    texts = [f"{i}:" + "y" * 5000 for i in range(20)]
    threads = [threading.Thread(target=conn.send, args=(t,)) for t in texts]
    received = []

    def reader():
        for _ in texts:
            received.append(read_server_frame(peer)[1].decode())

    r = threading.Thread(target=reader)
    r.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r.join(10)
    assert sorted(received) == sorted(texts)


def test_a_flood_is_read_no_faster_than_the_pace(pair, monkeypatch):
    conn, peer = pair
    monkeypatch.setattr(ws, "MESSAGES_PER_SECOND", 200)
    monkeypatch.setattr(ws, "MESSAGES_BURST", 20)
    conn._tokens = 20.0
    peer.sendall(client_frame(ws.TEXT, b"x") * 60)
    started = time.monotonic()
    assert [conn.wait() for _ in range(60)] == ["x"] * 60
    # 20 at once, the other 40 at 200/s: at least 0.2 s.
    assert time.monotonic() - started >= 0.19
