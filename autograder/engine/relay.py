"""A relay between the grader's zmq sockets and one forked kernel's, that counts what the kernel sends.

zmq hands a multipart message over only once all its frames have arrived, and MAXMSGSIZE caps
each frame, not their number: one message of a thousand 1 MiB frames would sit in the grader's
memory before anyone could count it. The relay counts bytes as they come off the kernel's
sockets, before zmq reads them, and past `limit` it reads the kernel no more: zmq then holds at
most that much, and the session stops the kernel.

One thread per kernel pumps each connection both ways, without blocking on any one of them.
"""
import os
import selectors
import socket
import threading

CHUNK = 1 << 16
BACKLOG = 1 << 20  # bytes waiting for a slow reader before its writer is read no more, for now


class Relay:
    def __init__(self, routes: dict):
        """`routes`: {path the grader connects to: path of the kernel's socket}."""
        self.received, self.limit = 0, None  # bytes from the kernel; past `limit`, it is read no more
        self._selector = selectors.DefaultSelector()
        self._wake, wake = socket.socketpair()
        self._selector.register(wake, selectors.EVENT_READ, None)
        self._sockets, self._paths = [self._wake, wake], list(routes)
        for path, target in routes.items():
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(8)
            listener.setblocking(False)
            self._sockets.append(listener)
            self._selector.register(listener, selectors.EVENT_READ, (listener, target))
        self._links = {}  # socket -> _Link
        self._thread = threading.Thread(target=self._run, name="kernel-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._wake.send(b"x")
        self._thread.join()
        for sock in [*self._sockets, *self._links]:
            sock.close()
        self._selector.close()
        for path in self._paths:
            os.unlink(path)

    def _run(self) -> None:
        while True:
            for key, events in self._selector.select():
                if key.data is None:
                    return
                if isinstance(key.data, tuple):
                    self._accept(*key.data)
                elif key.fileobj in self._links:  # (closed earlier in this round: skipped)
                    self._pump(key.data, events)

    def _accept(self, listener, target: str) -> None:
        try:
            grader, _ = listener.accept()
        except BlockingIOError:
            return
        kernel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            kernel.connect(target)
        except OSError:  # not bound yet: zmq connects again in a moment
            grader.close()
            kernel.close()
            return
        ends = _Link(grader, counted=False), _Link(kernel, counted=True)
        for end, other in (ends, ends[::-1]):
            end.peer = other
            end.sock.setblocking(False)
            self._links[end.sock] = end
            self._selector.register(end.sock, selectors.EVENT_READ, end)

    def _pump(self, link: "_Link", events: int) -> None:
        if events & selectors.EVENT_READ:
            try:
                data = link.sock.recv(CHUNK)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                return self._drop(link)
            if data:
                if link.counted:
                    self.received += len(data)
                link.peer.waiting += data
        if events & selectors.EVENT_WRITE and link.waiting:
            try:
                del link.waiting[:link.sock.send(link.waiting)]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                return self._drop(link)
        for end in (link, link.peer):
            self._listen(end)

    def _listen(self, link: "_Link") -> None:
        """Read an end while its peer keeps up (and, from the kernel, until the limit); write it while
        something waits for it."""
        read = len(link.peer.waiting) < BACKLOG and not (link.counted and self.limit is not None
                                                         and self.received > self.limit)
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if link.waiting else 0)
        if events != link.events:
            if link.events:
                self._selector.unregister(link.sock)
            if events:
                self._selector.register(link.sock, events, link)
            link.events = events

    def _drop(self, link: "_Link") -> None:
        """One end closed: the connection goes, both ends (zmq connects again if it wants to)."""
        for end in (link, link.peer):
            if end.events:
                self._selector.unregister(end.sock)
            self._links.pop(end.sock, None)
            end.sock.close()


class _Link:
    """One end of a relayed connection, and the bytes waiting to be written to it."""

    def __init__(self, sock, counted: bool):
        self.sock, self.counted, self.peer = sock, counted, None
        self.waiting = bytearray()
        self.events = selectors.EVENT_READ
