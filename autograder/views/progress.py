"""Progress on stderr: a redrawn bar on a terminal, one plain line per student otherwise."""
import time

WIDTH = 30


class Progress:
    def __init__(self, total: int, stream):
        self.total, self.stream, self.count, self.kept = total, stream, 0, 0
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()

    def start(self, student_id: str) -> None:
        if self.tty:
            self._bar(f"grading {student_id}")

    def done(self, student_id: str, results: dict, reused: bool) -> None:
        self.count += 1
        self.kept += reused
        extra = results["extra_data"]
        note = f"{results['score']:g}/{extra['max_score']:g} {extra['status']}" + (" (kept from an earlier run)" if reused else "")
        if self.tty:
            self._bar(f"{student_id}: {note}")
        else:
            self.stream.write(f"[{self.count}/{self.total}] {student_id}: {note}\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
        parts = [f"{n} {words}" for n, words in ((self.count - self.kept, "graded now"),
                                                 (self.kept, "kept from an earlier run")) if n]
        self.stream.write(f"{self.count} submission(s) done in {time.monotonic() - self.started:.0f} s"
                          + (f": {', '.join(parts)}" if parts else "") + "\n")
        self.stream.flush()

    def _bar(self, text: str) -> None:
        filled = int(WIDTH * self.count / max(self.total, 1))
        elapsed = time.monotonic() - self.started
        eta = f" ~{elapsed / self.count * (self.total - self.count):.0f}s left" if self.count else ""
        line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.count}/{self.total}{eta}  {text}"
        self.stream.write(f"\r\x1b[K{line[:120]}")
        self.stream.flush()
