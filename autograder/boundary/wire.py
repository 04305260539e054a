"""What both sides of the boundary share: the socket's framing (a length-prefixed JSON header and
raw byte frames), and the order in which they list the modules among a call's arguments.

Sent as source into both kernels (no import of the autograder package there). The receiving
side bounds everything before it allocates: a header over MAX_HEADER or frames over MAX_FRAMES
in all are refused, so a hostile peer cannot make the referee hold more than that.
"""
import json
import socket
import struct

MAX_HEADER = 1 << 20
MAX_FRAMES = 64 << 20
MAX_FRAME_COUNT = 4096
_PREFIX = struct.Struct("<II")
NO_SIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)


class WireError(Exception):
    """The peer sent something that is not a well-formed, bounded message, or went away."""


def send(sock, header: dict, frames=()) -> None:
    head = json.dumps(header, separators=(",", ":")).encode()
    sizes = [len(frame) for frame in frames]
    # MSG_NOSIGNAL: a closed peer is an error here, never a SIGPIPE (a forked kernel does not ignore it)
    sock.sendall(_PREFIX.pack(len(head), len(sizes)) + struct.pack(f"<{len(sizes)}Q", *sizes) + head, NO_SIGNAL)
    for frame in frames:
        sock.sendall(frame, NO_SIGNAL)


def receive(sock, max_header: int = MAX_HEADER, max_frames: int = MAX_FRAMES):
    """(header dict, [bytearray frames]); WireError for anything malformed or oversized."""
    head_size, count = _PREFIX.unpack(_exactly(sock, _PREFIX.size))
    if head_size > max_header or count > MAX_FRAME_COUNT:
        raise WireError(f"message too large ({head_size} header bytes, {count} frames)")
    sizes = struct.unpack(f"<{count}Q", _exactly(sock, 8 * count))
    if sum(sizes) > max_frames:
        raise WireError(f"message too large ({sum(sizes)} bytes of data)")
    try:
        header = json.loads(bytes(_exactly(sock, head_size)))
    except ValueError:
        raise WireError("the header is not JSON") from None
    if not isinstance(header, dict):
        raise WireError("the header is not a JSON object")
    return header, [_exactly(sock, size) for size in sizes]


def _exactly(sock, size: int) -> bytearray:
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = sock.recv_into(view[got:])
        if n == 0:
            raise WireError("the other side closed the connection")
        got += n
    return buffer


def modules_in(arguments: list, module_class) -> list:
    """The modules among the arguments (nested in lists, tuples and dicts), in one order for both sides."""
    found, todo = [], list(arguments)
    while todo:
        item = todo.pop(0)
        if isinstance(item, module_class):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            todo[:0] = list(item)
        elif isinstance(item, dict):
            todo[:0] = list(item.values())
    return found
