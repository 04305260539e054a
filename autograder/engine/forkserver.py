"""The warm parent: import what the course uses once, then fork one single-use kernel per request.

Runs as `PYTHON forkserver.py` (inside the sandbox, when there is one) with the grading
kernel's own Python, and needs only the standard library plus what the kernel imports:
nothing of the autograder package, so the course folder need not be visible to it.

The driver speaks JSON lines on the two fds named in argv (in, out); stdin and stdout are /dev/null.
Its first line is the config (folders to use and wipe, message bound, "plots": import matplotlib
ahead, false for a referee's parent); the parent answers it with {"ready": true, versions} once warm.

    {"op": "fork", "connection_file": F, "arguments": [...], "env": {...}, "limits": {...},
     "uid": U, "gid": G, "home": H}                                      → {"pid": P}
    {"op": "poll"}    → {"exit": code or null, "rss": bytes of every process but this one, and of
                         System V shared memory and message queues}
    {"op": "signal", "signum": N}  → {}: SIGKILL ends the kernel and every process it started
    {"op": "reap"}    → {"killed": N}: every process but this one ends, the scratch is wiped
    end of input      → reap, then exit

Fork safety: thread pools are capped before numpy and torch are imported, no math runs here,
CUDA is never touched, no zmq context exists, and each fork checks that this process still has
one thread. The kernel (IPKernelApp, its threads and sockets) is built in the child only.

The kernel inherits no descriptor (its stdio is /dev/null), and a seccomp filter refuses it new
namespaces (a nested user namespace is kernel attack surface) and System V or POSIX IPC objects
and keyrings, which could outlive it in this parent's namespaces and reach the next submission.
"""
import ctypes
import gc
import json
import os
import resource
import shutil
import signal
import stat
import sys

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")  # is_available() without a CUDA context

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
WARM_IMPORTS = ("numpy", "numpy.testing", "torch", "torch.nn", "torch.nn.functional", "torch.testing",
                "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                # what IPKernelApp.initialize imports on its own
                "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
                "IPython.extensions.storemagic", "sqlite3", "pdb", "faulthandler", "tornado.platform.asyncio")
# For students' kernels only: a referee's trusted cells don't plot (`"plots": false` in the config).
PLOT_IMPORTS = ("matplotlib", "matplotlib.pyplot",  # not matplotlib_inline: importing it in the kernel
                # is what hooks the inline backend into the kernel's shell
                "matplotlib.font_manager")  # builds the font cache once, here


def main() -> None:
    control_in, control_out = os.fdopen(int(sys.argv[1]), "r"), os.fdopen(int(sys.argv[2]), "w", buffering=1)
    config = json.loads(control_in.readline())
    scratch = config["scratch"]
    os.chdir(scratch)
    _prctl(PR_SET_DUMPABLE, 0)  # a kernel can neither ptrace nor read this process
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans (setsid'd, double-forked) come back here to be ended
    versions = _warm_up(WARM_IMPORTS + (PLOT_IMPORTS if config.get("plots", True) else ()))
    _send(control_out, {"ready": True, "pid": os.getpid(), **versions})
    server = ForkServer(config)
    for line in control_in:
        request = json.loads(line)
        try:
            answer = server.handle(request)
        except Exception as error:  # the driver reads it and replaces this parent
            answer = {"error": f"{type(error).__name__}: {error}", "fatal": True}
        _send(control_out, answer)
        if answer.get("fatal"):
            break
    server.reap()


class ForkServer:
    def __init__(self, config: dict):
        self.config = config
        self.modes = {folder: stat.S_IMODE(os.stat(folder).st_mode) for folder in config["wipe"]}
        self.keep = frozenset(config.get("keep", ()))
        self.own_ipc = config.get("own_ipc", False)  # an IPC namespace of the sandbox's, not the host's
        self.kernel = None  # pid of the kernel now running
        self.exit = None

    def handle(self, request: dict) -> dict:
        op = request["op"]
        if op == "fork":
            return self.fork(request)
        if op == "poll":
            return self.poll()
        if op == "signal":
            if self.kernel is not None and self.exit is None:
                _quietly(os.kill, self.kernel, request["signum"])
            if request["signum"] == signal.SIGKILL:  # stopped: whatever it started stops too
                for pid in _descendants():
                    _quietly(os.kill, pid, signal.SIGKILL)
            return {}
        if op == "reap":
            return {"killed": self.reap()}
        return {"error": f"unknown op {op!r}"}

    def fork(self, request: dict) -> dict:
        if self.kernel is not None:
            self.reap()
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            return {"error": f"the warm parent has {threads} threads: it will not fork"}
        server = os.getpid()
        pid = os.fork()
        if pid == 0:
            _become_kernel(request, self.config, server)  # never returns
        self.kernel, self.exit = pid, None
        return {"pid": pid}

    def poll(self) -> dict:
        if self.kernel is not None and self.exit is None:
            pid, status = _quietly(os.waitpid, self.kernel, os.WNOHANG) or (0, 0)
            if pid == self.kernel:
                self.exit = os.waitstatus_to_exitcode(status)
        others = _descendants()
        return {"exit": self.exit if self.kernel is not None else None,
                "rss": sum(_rss(p) for p in others) + (_ipc_bytes() if self.own_ipc else 0)}

    def reap(self) -> int:
        """End every process but this one, then wipe what the kernel wrote."""
        killed = 0
        for _ in range(1000):  # a fork bomb refills the list: go until it stays empty
            others = _descendants()
            if not others:
                break
            for pid in others:
                killed += _quietly(os.kill, pid, signal.SIGKILL) is not False
            _collect_zombies()
        _collect_zombies()
        self.kernel, self.exit = None, None
        for folder, mode in self.modes.items():
            _empty(folder, mode, self.keep)  # raises when it can't: the driver replaces this parent
        left = _ipc_objects() if self.own_ipc else []
        if left:  # (the seccomp filter forbids them; without it, a new parent brings a new namespace)
            raise RuntimeError(f"System V IPC objects outlived the kernel: {left[:5]}")
        return killed


def _collect_zombies() -> None:
    """Wait for every child that has ended (orphans included: this process is their subreaper)."""
    while _quietly(os.waitpid, -1, os.WNOHANG) not in (None, False, (0, 0)):
        pass


def _become_kernel(request: dict, config: dict, server: int) -> None:
    """In the forked child: drop what the parent holds, set limits, and run a real IPython kernel.
    It dies with `server`, this parent: killed with it (a lost Dask worker), an unsandboxed kernel
    (the referee's) would otherwise live on, reaped by nobody."""
    try:
        _close_inherited()  # the parent's control pipes and its log above all
        os.setsid()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        _become_user(request.get("uid"), request.get("gid"))
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
        if os.getppid() != server:  # the parent died before that
            os._exit(70)
        _prctl(PR_SET_DUMPABLE, 1)
        home = os.path.join(config["scratch"], request.get("home", "home"))
        os.makedirs(home)  # new for each kernel: nothing an earlier one left is read
        os.environ.update({"HOME": home, "IPYTHONDIR": os.path.join(home, ".ipython"),
                           "MPLCONFIGDIR": os.path.join(home, ".matplotlib"), "TMPDIR": config["tmp"]})
        os.environ.pop("JPY_PARENT_PID", None)  # pid 1 in a namespace would look like an orphan
        os.environ.update(request.get("env", {}))
        _set_limits(request.get("limits", {}))
        _confine()
        _stream_in_pieces(config.get("max_message", 0) // 16)  # under 2x that many characters, 8 bytes each at most
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"], *request.get("arguments", []),
                        "--IPKernelApp.parent_handle=0"])
        app.start()
    except BaseException:  # noqa: B036  the child must never return into the server's loop
        os._exit(70)  # (no traceback: its stderr is /dev/null, as the student's code would see it)
    os._exit(0)


def _close_inherited() -> None:
    """stdin, stdout and stderr to /dev/null, every other descriptor closed."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def _stream_in_pieces(characters: int) -> None:
    """What a cell prints goes out in pieces of about `characters`, each flushed at once: the grader
    drops its connection to a kernel that sends a message over its size limit, and ipykernel's
    streams send what was written every 0.2 s in one message, however much that is."""
    if characters <= 0:
        return
    from ipykernel.iostream import OutStream
    write = OutStream.write

    def in_pieces(self, string):
        unsent = getattr(self, "_unsent", 0) + len(string) if isinstance(string, str) else 0
        if unsent < characters:
            self._unsent = unsent
            return write(self, string)
        for start in range(0, len(string), characters):
            write(self, string[start:start + characters])
            self.flush()
        self._unsent = 0
        return len(string)

    OutStream.write = in_pieces


def _set_limits(limits: dict) -> None:
    """Per-submission resource limits; each is a (soft = hard) cap the kernel cannot raise."""
    names = {"nproc": resource.RLIMIT_NPROC, "fsize": resource.RLIMIT_FSIZE, "cpu": resource.RLIMIT_CPU,
             "data": resource.RLIMIT_DATA, "core": resource.RLIMIT_CORE}
    for name, value in limits.items():
        resource.setrlimit(names[name], (value, value))


def _become_user(uid, gid) -> None:
    """In the kernel, when the grader runs as root: a uid of its own, other than this parent's, so
    it can neither signal nor trace the parent. From uid 0 to non-zero, every capability is gone."""
    if uid is None or os.getuid() != 0:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("the kernel is still root")


# The seccomp filter. Syscall numbers per architecture: (audit arch, numbers of clone, clone3,
# unshare, setns, shmget, msgget, semget, mq_open, add_key, request_key, keyctl, whether x32 calls exist).
SYSCALLS = {"x86_64": (0xC000003E, (56, 435, 272, 308, 29, 68, 64, 240, 248, 249, 250), True),
            "aarch64": (0xC00000B7, (220, 435, 97, 268, 194, 186, 190, 180, 217, 218, 219), False)}
CLONE_NEW_NAMESPACES = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
EPERM, ENOSYS = 1, 38


def _confine() -> None:
    """Install the kernel's seccomp filter (and no_new_privs): EPERM for unshare, setns, a clone
    into new namespaces, IPC objects and keyrings; ENOSYS for clone3 (whose flags it cannot read;
    glibc falls back to clone); EPERM for every call of another ABI (i386 or x32 on x86_64).
    On an architecture it has no numbers for, nothing is installed."""
    arch = SYSCALLS.get(os.uname().machine)
    if arch is None:
        return
    audit, (clone, clone3, *denied), x32 = arch
    allow, errno = 0x7FFF0000, lambda number: 0x00050000 | number

    def ld(offset):
        return (0x20, 0, 0, offset)  # BPF_LD | BPF_W | BPF_ABS: seccomp_data's nr (0), arch (4), args[0] (16)

    def jump(op, value, true, false):
        return (op, true, false, value)  # op: 0x15 jeq, 0x35 jge, 0x45 jset

    def ret(value):
        return (0x06, 0, 0, value)

    program = [ld(4), jump(0x15, audit, 1, 0), ret(errno(EPERM)), ld(0)]
    if x32:
        program += [jump(0x35, 0x40000000, 0, 1), ret(errno(EPERM))]
    program += [jump(0x15, clone3, 0, 1), ret(errno(ENOSYS))]
    for number in denied:
        program += [jump(0x15, number, 0, 1), ret(errno(EPERM))]
    program += [jump(0x15, clone, 0, 3), ld(16), jump(0x45, CLONE_NEW_NAMESPACES, 0, 1), ret(errno(EPERM)), ret(allow)]

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*program)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.prctl(
            PR_SET_SECCOMP, 2, ctypes.byref(Program(len(program), instructions)), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "the kernel's seccomp filter could not be installed")


def _ipc_objects() -> list[str]:
    """System V IPC objects in this parent's namespace ("shm 3", ...)."""
    found = []
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                found += [f"{kind} {line.split()[1]}" for line in table.readlines()[1:]]
        except OSError:
            continue
    return found


def _ipc_bytes() -> int:
    """Memory held by System V shared memory (resident or swapped) and message queues."""
    total = 0
    for kind, columns in (("shm", ("rss", "swap")), ("msg", ("cbytes",))):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                header, *rows = [line.split() for line in table]
        except OSError:
            continue
        at = [header.index(c) for c in columns if c in header]
        total += sum(int(row[i]) for row in rows for i in at if row[i].isdigit())
    return total


def _warm_up(imports) -> dict:
    import importlib
    for name in imports:
        importlib.import_module(name)
    import numpy
    import torch
    import platform
    _first_use(numpy, torch)
    gc.collect()
    gc.freeze()  # objects made so far stay out of the children's collections: fewer copied pages
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "cuda_initialized": bool(torch.cuda.is_initialized())}


def _first_use(numpy, torch) -> None:
    """What every kernel would otherwise do once on its own: the first conversions, views, an
    autograd graph, a small layer. Single-threaded (the pools are capped at one thread above),
    and each fork checks that it stayed so."""
    array = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    tensor = torch.from_numpy(array)
    torch.as_tensor(array[:, ::2]).numpy()
    torch.tensor(array).T.contiguous().numpy(force=True)
    weights = tensor.clone().requires_grad_()
    (weights * 2).sum().backward()
    weights.detach().cpu().numpy()
    torch.nn.Linear(3, 2)(tensor).detach().numpy()
    numpy.shares_memory(array, tensor.numpy())
    numpy.testing.assert_allclose(array, tensor.numpy())
    torch.testing.assert_close(tensor, tensor.clone())


def _descendants() -> list[int]:
    """Every process below this one (orphans are reparented here: it is their subreaper)."""
    me, children, parents = os.getpid(), {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(me, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _empty(folder: str, mode: int, keep: frozenset = frozenset()) -> None:
    """Remove everything in `folder`, whatever modes the kernel set on it, except the folders in
    `keep` (read-only binds) and the folders leading to them; raise if anything else stays (the
    driver then replaces this parent rather than hand leftovers to the next submission)."""
    os.chmod(folder, mode)
    for root, folders, _ in os.walk(folder):
        folders[:] = [name for name in folders if os.path.join(root, name) not in keep]
        for name in folders:  # owner (or CAP_FOWNER) may always chmod: undo 0o000, 0o500, ...
            path = os.path.join(root, name)
            if not _leads_to(path, keep):
                _quietly(lambda p: os.chmod(p, 0o700, follow_symlinks=False), path)
    for entry in os.scandir(folder):
        if entry.path in keep:
            continue
        if _leads_to(entry.path, keep):
            _empty(entry.path, stat.S_IMODE(os.lstat(entry.path).st_mode), keep)
        elif entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            _quietly(os.unlink, entry.path)
    left = [name for name in os.listdir(folder)
            if os.path.join(folder, name) not in keep and not _leads_to(os.path.join(folder, name), keep)]
    if left:
        raise RuntimeError(f"could not wipe {folder}: {left[:5]} remain")


def _leads_to(path: str, keep) -> bool:
    return any(kept.startswith(path + "/") for kept in keep)


def _quietly(function, *args):
    """function(*args), or False when the process or file is already gone."""
    try:
        return function(*args)
    except (ProcessLookupError, ChildProcessError, FileNotFoundError, PermissionError):
        return False


def _prctl(option: int, value: int) -> None:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _send(stream, message: dict) -> None:
    stream.write(json.dumps(message) + "\n")


if __name__ == "__main__":
    main()
