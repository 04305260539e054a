"""What a student's kernel can see and do: one bubblewrap sandbox per warm parent.

Inside it:
- no network (a network namespace of its own: not even loopback reaches the host);
- its own process ids, so the parent ends everything a submission started;
- read-only: the kernel's Python (its prefix and base prefix) and /usr; nothing of the course,
  the gradebook, the submissions, the output folder or anyone's home;
- writable: a scratch tmpfs (the kernel's cwd and HOME) and /tmp, wiped after every
  submission, and the folder of the kernel's ipc sockets;
- an unprivileged user: as root, each kernel runs under a fresh uid with no capability (its
  parent keeps only what it needs to start, signal and clean up after it); otherwise a user
  namespace maps the grader's uid to `nobody`, for the kernel and its parent alike;
- nothing of the host's layout beyond the kernel's Python: bwrap reads its options from a
  memfd, so its command line (/proc/1/cmdline inside) names no host folder, and files it
  copies in are mounted from its own tmpfs.

Each kernel also confines itself (forkserver.py): no inherited descriptor, and a seccomp filter
against new namespaces and IPC objects.

Per-submission limits (processes, file size, CPU, memory) are set by the parent on each
kernel it forks: `kernel_limits`. Without bubblewrap or user namespaces (macOS, a locked-down
container) grading still runs, unsandboxed, and says so: `detect()` gives a Sandbox of kind
"none", with the reason (--require-sandbox refuses to run then).
"""
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SCRATCH = "/scratch"
TMP = "/tmp"
IPC = "/ipc"  # where the folder of the kernel's ipc sockets appears inside
SCRATCH_BYTES = 512 * 2**20
BASE_UID = 100_000  # kernels' uids, when the grader runs as root, are drawn above this
PARENT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
MAX_PROCESSES = 256  # threads count too: torch and ipykernel start a few dozen
MAX_FILE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Sandbox:
    """How one warm parent is confined."""
    kind: str  # "bwrap" or "none"
    reason: str = ""  # why there is none

    @property
    def enabled(self) -> bool:
        return self.kind == "bwrap"

    def describe(self) -> str:
        if not self.enabled:
            return f"none: {self.reason}; student code runs with the grader's rights"
        return (f"{_bwrap_version()}: no network, own process ids, read-only Python, scratch wiped after "
                f"each submission, {'uid ' + str(BASE_UID) + '+ and no capabilities' if os.getuid() == 0 else 'user namespace (nobody)'}, "
                f"limits on processes ({MAX_PROCESSES}), file size ({MAX_FILE_BYTES >> 20} MiB), CPU and memory")


def detect() -> Sandbox:
    """The sandbox this machine can give: bubblewrap if it is installed and really works."""
    return _detect()


@lru_cache(maxsize=1)
def _detect() -> Sandbox:
    bwrap = shutil.which("bwrap")
    if bwrap is None or not sys.platform.startswith("linux"):
        return Sandbox("none", "bubblewrap (bwrap) is not installed" if sys.platform.startswith("linux")
                       else f"no sandbox on {sys.platform}")
    trial = subprocess.run([bwrap, *_namespaces(), "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True, timeout=30)
    if trial.returncode != 0:
        return Sandbox("none", f"bwrap cannot create namespaces here ({trial.stderr.strip() or trial.returncode})")
    return Sandbox("bwrap")


def wrap(command: list[str], python: str, ipc_dir: str, gpu_devices: bool = False,
         files: dict | None = None) -> tuple[list[str], list[int]]:
    """`command` run in the sandbox; `python` is the kernel's interpreter, whose prefixes are shown;
    `gpu_devices`: the host's GPU devices are bound in (GPUs in grading: gpu.py);
    `files` ({path inside: bytes}) are copied in, read-only. (argv, descriptors to pass to it):
    the caller closes the descriptors once bwrap has started."""
    argv = [*_namespaces(), "--die-with-parent", "--new-session", "--clearenv",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "HOME", SCRATCH, "--setenv", "TMPDIR", TMP]
    argv += _system_mounts()
    # The writable tmpfs first: a Python that lives below /tmp (a clone in /tmp) is bound on top.
    argv += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",  # (bwrap leaves sysctls writable to root)
             "--dev", "/dev",
             "--perms", "1777", "--size", str(SCRATCH_BYTES), "--tmpfs", SCRATCH,
             "--perms", "1777", "--size", str(SCRATCH_BYTES), "--tmpfs", TMP]
    for folder in python_folders(python):
        argv += _parents(folder) + ["--ro-bind", folder, folder]
    argv += ["--bind", ipc_dir, IPC]
    if gpu_devices:
        argv += _gpu_mounts()
    for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
        if name in os.environ:
            argv += ["--setenv", name, os.environ[name]]
    argv += ["--chdir", SCRATCH]
    fds = []
    for path, data in (files or {}).items():
        fds.append(_memfd(data))
        argv += _parents(path) + ["--ro-bind-data", str(fds[-1]), path]
    if os.getuid() == 0:  # only what the parent needs to put each kernel under a uid of its own,
        # signal it, and wipe what it wrote; each kernel drops them all with its uid
        argv += ["--cap-drop", "ALL"]
        for capability in PARENT_CAPABILITIES:
            argv += ["--cap-add", capability]
    fds.append(_memfd(b"".join(arg.encode() + b"\0" for arg in argv)))
    return [shutil.which("bwrap") or "bwrap", "--args", str(fds[-1]), *command], fds


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("bwrap", os.MFD_CLOEXEC)  # (pass_fds clears CLOEXEC for bwrap alone)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def kernel_user() -> tuple[int | None, int | None]:
    """(uid, gid) for the kernels of one warm parent, when the grader runs as root: unused by
    anyone else, so a kernel can't signal its parent or another run's kernels, and one
    submission's process limit can't starve another's. None: a user namespace maps one uid."""
    if os.getuid() != 0:
        return None, None
    uid = BASE_UID + secrets.randbelow(1_000_000_000)
    return uid, uid


def kernel_limits(memory_mb: int, cpu_seconds: float, gpu: bool, sandboxed: bool) -> dict:
    """rlimits for one kernel; `gpu`: it holds a GPU lease (gpu.py).

    Memory is watched by the grader (session.py), which stops a kernel over its limit with a
    clear message; RLIMIT_DATA at twice the limit is the backstop for an allocation faster
    than the watch (CUDA's host mappings make it risky on a GPU, so there the watch alone acts).
    The process limit counts per uid, so it is only set where the uid is the sandbox's own.
    """
    limits = {"fsize": MAX_FILE_BYTES, "cpu": max(int(cpu_seconds), 1), "core": 0}
    if not gpu:
        limits["data"] = 2 * memory_mb * 2**20
    if sandboxed:
        limits["nproc"] = MAX_PROCESSES
    return limits


def mount_tmpfs(folder: str, size: int) -> bool:
    """Mount a tmpfs of `size` bytes on `folder` (as root); False where that can't be done."""
    if os.getuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700,nosuid,nodev", "tmpfs", folder],
                          capture_output=True, timeout=30)
    return done.returncode == 0


def unmount(folder: str) -> None:
    subprocess.run(["umount", "--lazy", folder], capture_output=True, timeout=30)


def _namespaces() -> list[str]:
    if os.getuid() == 0:  # real namespaces; the parent drops to an unprivileged uid itself
        return ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    nested = ["--unshare-user", "--disable-userns"] if "--disable-userns" in _bwrap_help() else []
    return ["--unshare-all", *nested, "--uid", "65534", "--gid", "65534"]


def _system_mounts() -> list[str]:
    argv = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf"):
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return argv


@lru_cache(maxsize=8)
def python_folders(python: str) -> tuple[str, ...]:
    """What the kernel Python imports from: its prefixes (a venv and the Python it was made from)
    and any other folder its site adds to sys.path (a .pth file's, e.g. a node's own torch).
    Asked in isolated mode (-I), so the grader's PYTHONPATH or user site shows nothing more."""
    found = subprocess.run([python, "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix); "
                            "print(sys.exec_prefix); print(*sys.path, sep='\\n')"],
                           capture_output=True, text=True, check=True, timeout=60)
    folders = []
    for line in found.stdout.splitlines():
        real = os.path.realpath(line) if line else ""
        if not os.path.isdir(real) or real == "/" or real == "/usr" or real.startswith("/usr/"):
            continue
        if not any(real == f or real.startswith(f"{f}/") for f in folders):
            folders.append(real)
    return tuple(folders)


def _parents(folder: str) -> list[str]:
    """Make each missing parent folder world-readable (bwrap would create it 0700 as root)."""
    argv, path = [], Path(folder)
    for parent in reversed(path.parents):
        if str(parent) in ("/", "/usr", SCRATCH, TMP):
            continue
        argv += ["--perms", "0755", "--dir", str(parent)]
    return argv


def _gpu_mounts() -> list[str]:
    """The NVIDIA device nodes, and /sys read-only: for an engine opened for GPU work (gpu.py)."""
    argv = []
    for device in sorted(Path("/dev").glob("nvidia*")):
        argv += ["--dev-bind", str(device), str(device)]
    return argv + ["--ro-bind-try", "/sys", "/sys"]


@lru_cache(maxsize=1)
def _bwrap_help() -> str:
    try:
        return subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return ""


@lru_cache(maxsize=1)
def _bwrap_version() -> str:
    try:
        return subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "bubblewrap"
