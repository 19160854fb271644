"""The WebSocket layer (ws.py) over a socket pair: framing, control frames, the caps
that refuse oversized, fragmented-oversized and binary messages before reading them, and
the closing handshake (close frames checked, sockets closed lingeringly)."""

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
def pair(monkeypatch):
    # A closing socket waits this long for the peer to close too (our peer rarely does).
    monkeypatch.setattr(ws, "LINGER_SECONDS", 0.3, raising=False)
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


def test_a_refusal_costs_its_connection_reads(pair, monkeypatch):
    """slow_down (a refusal for going too fast) takes REFUSAL_COST reads from the
    connection's budget: its next message is read once they have come back."""
    conn, peer = pair
    monkeypatch.setattr(ws, "MESSAGES_PER_SECOND", 200)
    conn._tokens = 5.0
    peer.sendall(client_frame(ws.TEXT, b"x") * 2)
    assert conn.wait() == "x"
    started = time.monotonic()
    conn.slow_down()  # 50 reads at 200/s, 4 of them still in hand: ~0.23 s
    assert conn.wait() == "x"
    assert time.monotonic() - started >= (ws.REFUSAL_COST - 4) / 200 - 0.01


# --- the closing handshake (RFC 6455 §5.5.1, §7.4) ------------------------------------


def close_frame(code: int | None = None, reason: bytes = b"") -> bytes:
    return client_frame(ws.CLOSE, (b"" if code is None else struct.pack("!H", code)) + reason)


def closed_cleanly(peer) -> bool:
    """The server's close frame was followed by the end of the stream, not a reset (a
    socket closed with bytes it never read resets the connection)."""
    try:
        return peer.recv(1) == b""
    except ConnectionResetError:
        return False


def test_a_close_frame_with_a_1_byte_body_is_a_protocol_error(pair):
    conn, peer = pair
    peer.sendall(client_frame(ws.CLOSE, b"\x03"))
    assert conn.wait() is None
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.PROTOCOL_ERROR))
    assert closed_cleanly(peer)


def test_a_close_reason_that_is_not_utf8_is_invalid_data(pair):
    conn, peer = pair
    # "\xed\xa0\x80" encodes a surrogate: not UTF-8 (Autobahn 7.5.1).
    peer.sendall(close_frame(1000, "κόσμε".encode() + b"\xed\xa0\x80edited"))
    assert conn.wait() is None
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.INVALID_DATA))
    assert closed_cleanly(peer)


@pytest.mark.parametrize(
    "code",
    [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535],
    ids=lambda code: str(code),
)
def test_a_close_code_not_in_use_is_a_protocol_error(pair, code):
    """Below 1000: never used; 1004 reserved; 1005, 1006 and 1015 are for reports and
    must not be sent; 1016-2999 unassigned; 5000 and above undefined."""
    conn, peer = pair
    peer.sendall(close_frame(code, b"bye"))
    assert conn.wait() is None
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.PROTOCOL_ERROR))
    assert closed_cleanly(peer)


@pytest.mark.parametrize(
    "code", [None, 1000, 1001, 1002, 1003, 1007, 1010, 1011, 1012, 1014, 3000, 3999, 4000, 4999]
)
def test_a_valid_close_is_answered_normally_and_what_follows_it_is_dropped(pair, code):
    """A valid close (no body, or a code in use with a UTF-8 reason) is answered with
    1000. A ping the peer sent after it (Autobahn 7.1.3) is read and dropped, not
    answered, and the stream then ends cleanly rather than with a reset."""
    conn, peer = pair
    peer.sendall(
        close_frame(code, "fin ✓".encode() if code else b"") + client_frame(ws.PING, b"late")
    )
    assert conn.wait() is None
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.NORMAL))
    assert closed_cleanly(peer)


def test_the_rest_of_a_refused_frame_is_read_and_dropped_not_reset(pair, monkeypatch):
    """A frame over the cap is refused from its header (1009) while its payload is still
    arriving: the payload is read and dropped until the peer closes, so the peer can send
    it all and then read the close frame. (Closing with unread bytes resets the
    connection; under gevent the peer then lost the close frame.)"""
    conn, peer = pair
    monkeypatch.setattr(ws, "LINGER_SECONDS", 5)
    payload = os.urandom(1_000_000)  # far more than the socket pair buffers
    failure = []

    def send_it_all():
        try:
            peer.sendall(client_frame(ws.TEXT, payload))
        except OSError as error:
            failure.append(error)

    sender = threading.Thread(target=send_it_all)
    sender.start()
    waited = threading.Thread(target=conn.wait)
    waited.start()
    sender.join(10)
    assert failure == []
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.TOO_BIG))
    assert closed_cleanly(peer)
    peer.close()  # what a peer does once it has read the server's close and EOF
    started = time.monotonic()
    waited.join(5)
    assert not waited.is_alive() and conn.closed
    assert time.monotonic() - started < 1, "the server closed as soon as the peer did"


def test_close_waits_for_the_peers_answer_and_drops_messages_after_it(pair, monkeypatch):
    """``close()`` while a reader waits (Engine.IO's writer task does this): the close
    frame goes out, what the peer still sends is read by the reader (a message after our
    close frame is dropped), and the socket closes once the peer answers."""
    conn, peer = pair
    monkeypatch.setattr(ws, "LINGER_SECONDS", 5)
    results = []
    reader = threading.Thread(target=lambda: results.append(conn.wait()))
    reader.start()
    time.sleep(0.1)  # the reader is blocked in recv
    closer = threading.Thread(target=conn.close)
    started = time.monotonic()
    closer.start()
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.NORMAL))
    # The peer had this message on its way, then answers the close.
    peer.sendall(client_frame(ws.TEXT, b"too late") + close_frame(1000))
    assert closed_cleanly(peer)
    peer.close()
    closer.join(5)
    reader.join(5)
    assert results == [None]
    assert conn.closed
    assert time.monotonic() - started < 2, "closed on the answer, not at the deadline"
    with pytest.raises(OSError):
        conn.send("after close")


def test_close_without_a_reader_lingers_at_most_linger_seconds(pair):
    conn, peer = pair
    started = time.monotonic()
    conn.close()  # the peer never answers
    took = time.monotonic() - started
    assert conn.closed
    assert 0.25 < took < 1.5, took
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.NORMAL))
    assert peer.recv(1) == b""


def test_close_with_a_silent_peer_ends_the_reader_at_the_deadline(pair):
    conn, peer = pair
    results = []
    reader = threading.Thread(target=lambda: results.append(conn.wait()))
    reader.start()
    time.sleep(0.1)
    started = time.monotonic()
    conn.close()  # the peer never answers: the reader is woken at the deadline
    reader.join(5)
    assert results == [None]
    assert conn.closed
    assert time.monotonic() - started < 1.5
    assert read_server_frame(peer) == (ws.CLOSE, struct.pack("!H", ws.NORMAL))
    assert peer.recv(1) == b""
