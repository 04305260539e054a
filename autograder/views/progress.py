"""Progress on stderr: a redrawn bar on a terminal, one plain line per student otherwise."""
import time

WIDTH = 30


class Progress:
    def __init__(self, total: int, stream):
        self.total, self.stream, self.count = total, stream, 0
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()

    def start(self, student_id: str) -> None:
        if self.tty:
            self._bar(f"grading {student_id}")

    def done(self, student_id: str, results: dict, reused: bool) -> None:
        self.count += 1
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
        self.stream.write(f"graded {self.count} submission(s) in {time.monotonic() - self.started:.0f} s\n")
        self.stream.flush()

    def _bar(self, text: str) -> None:
        filled = int(WIDTH * self.count / max(self.total, 1))
        elapsed = time.monotonic() - self.started
        eta = f" ~{elapsed / self.count * (self.total - self.count):.0f}s left" if self.count else ""
        line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.count}/{self.total}{eta}  {text}"
        self.stream.write(f"\r\x1b[K{line[:120]}")
        self.stream.flush()
