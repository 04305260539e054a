"""Waking the grading service when something arrives in the exchange's inbound folder, without polling.

Linux inotify (through ctypes; no extra package) watches inbound/ for new submission folders and
each new folder for its files (a folder is complete when nbgrader submit has closed
submission_secret.txt). A thread of its own reads the events as they come, so the time a folder
was first seen is known even while the service is busy grading. A slow rescan (RESCAN_S) catches
anything an overflowing event queue lost. Where inotify is unavailable the service scans every
POLL_S seconds instead. Either way an idle service sleeps in the kernel.
"""
import ctypes
import ctypes.util
import os
import select
import struct
import threading
import time
from pathlib import Path

RESCAN_S = 45.0  # the safety rescan, with inotify
POLL_S = 2.0  # the plain scan, without it
IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x4, 0x8, 0x80, 0x100
IN_DELETE_SELF, IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x400, 0x4000, 0x8000, 0x40000000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
INBOUND_MASK = IN_CREATE | IN_MOVED_TO | IN_ATTRIB  # IN_ATTRIB: a folder's chmod, the end of a submit
FOLDER_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB  # IN_ATTRIB: submit's chmod, last
EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then the name)


class Watcher:
    """`wait(timeout)` returns when inbound changed (or at the timeout); `first_seen(name)` is when a
    new folder was noticed. `interval`: how long a caller should wait between scans."""

    def __init__(self, inbound: Path):
        self.inbound = inbound
        self.changed = threading.Event()
        self.lock = threading.Lock()
        self.seen: dict[str, float] = {}
        self.folders: dict[int, str] = {}  # watch descriptor → folder name
        self.fd, self.why = _inotify()
        self.interval = RESCAN_S if self.fd is not None else POLL_S
        if self.fd is not None:
            if self._add(str(inbound), INBOUND_MASK) is None:
                os.close(self.fd)
                self.fd, self.interval = None, POLL_S
            else:
                self.wake_r, self.wake_w = os.pipe()
                self.thread = threading.Thread(target=self._read, name="inbound-watch", daemon=True)
                self.thread.start()

    @property
    def kind(self) -> str:
        return (f"inotify on {self.inbound}, rescanning every {RESCAN_S:g} s" if self.fd is not None
                else f"scanning {self.inbound} every {POLL_S:g} s (no inotify: {self.why})")

    def watch_folder(self, name: str) -> None:
        """Watch a submission folder for its files (after which the caller looks at it once itself)."""
        if self.fd is not None:
            wd = self._add(str(self.inbound / name), FOLDER_MASK)
            if wd is not None:
                with self.lock:
                    self.folders[wd] = name

    def unwatch(self, name: str) -> None:
        """Stop watching a folder that is done with (a user has a few thousand watches)."""
        with self.lock:
            wd = next((wd for wd, folder in self.folders.items() if folder == name), None)
        if wd is not None and self.fd is not None:
            _libc.inotify_rm_watch(self.fd, wd)  # the reader then sees IN_IGNORED and forgets it

    def first_seen(self, name: str) -> float | None:
        with self.lock:
            return self.seen.pop(name, None)

    def wait(self, timeout: float) -> None:
        self.changed.wait(timeout)
        self.changed.clear()

    def close(self) -> None:
        if self.fd is not None:
            os.write(self.wake_w, b"x")  # the reader sees it, closes its descriptors and ends
            self.thread.join(5)
            self.fd = None

    def _add(self, path: str, mask: int) -> int | None:
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        return None if wd < 0 else wd

    def _read(self) -> None:
        fd = self.fd
        while True:
            ready, _, _ = select.select([fd, self.wake_r], [], [])
            if self.wake_r in ready:
                for descriptor in (fd, self.wake_r, self.wake_w):
                    os.close(descriptor)
                return
            try:
                data = os.read(fd, 64 * 1024)
            except BlockingIOError:
                continue
            now, offset = time.time(), 0
            while offset + EVENT.size <= len(data):
                wd, mask, _, length = EVENT.unpack_from(data, offset)
                name = data[offset + EVENT.size: offset + EVENT.size + length].rstrip(b"\0")
                offset += EVENT.size + length
                if mask & (IN_CREATE | IN_MOVED_TO) and mask & IN_ISDIR and wd not in self.folders:
                    with self.lock:
                        self.seen.setdefault(os.fsdecode(name), now)
                elif mask & IN_IGNORED:
                    with self.lock:
                        self.folders.pop(wd, None)
            self.changed.set()


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes, libc.inotify_add_watch.argtypes = [ctypes.c_int], \
            [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        libc.inotify_rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


_libc = _load_libc()


def _inotify() -> tuple[int | None, str]:
    if os.environ.get("AUTOGRADER_NO_INOTIFY"):  # to try the plain scan
        return None, "AUTOGRADER_NO_INOTIFY is set"
    if _libc is None:
        return None, "no C library with inotify (not Linux)"
    fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        return None, os.strerror(ctypes.get_errno())
    return fd, ""
