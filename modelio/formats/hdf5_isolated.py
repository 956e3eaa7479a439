"""Untrusted HDF5 is parsed in a child process, never in the caller.

libhdf5 is C code that trusts its input: one changed byte can make it crash, loop forever or
allocate gigabytes. So the caller never hands a file to it. A child process (forked, or started
afresh when the caller runs threads) opens the file with h5py under an address-space limit,
walks every group, reads every attribute and the data of every dataset a model may need,
checking each dataset's declared size against the bytes it stores and the filters it uses, and
sends the result back over a pipe as plain arrays (`hdf5_tree`). The caller waits with a
deadline: a crash, a hang or an allocation beyond the limit ends the child, and the caller gets
a FormatError. What comes back is checked again before anything is allocated for it.

The cost is one fork and one copy of the weights through a pipe (see README, "Loading untrusted
files", for measurements).
"""

import faulthandler
import io
import json
import math
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import FormatError
from .hdf5_tree import RAW_KINDS, StoredFile, TreeEncoder, decode_tree
from .probe import HDF5_MAGIC

# A file may make the reader hold at most this many bytes of dataset data, or `EXPANSION` times
# its own size when that is more (compressed data expands; uncompressed data must be stored).
MIN_DATA_BUDGET = 256 * 1024**2
EXPANSION = 20
# Attribute bytes and the tree's description, beyond the data budget.
METADATA_BUDGET = 256 * 1024**2
# Groups, datasets and links in one file; nesting depth of groups.
MAX_OBJECTS = 200_000
MAX_DEPTH = 64
# Filters h5py writes: deflate (gzip), shuffle, fletcher32, lzf. Others are refused.
KNOWN_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}
# Top-level groups holding optimizer state: their structure is read, never their data.
OPTIMIZER_GROUPS = ("optimizer_weights", "optimizer")
# The child's deadline: a base plus one second per 20 MB of file.
BASE_SECONDS = 10.0
BYTES_PER_SECOND = 20 * 1024**2
# Address space the child may use beyond what it inherited, on top of twice the data budget.
MEMORY_HEADROOM = 512 * 1024**2

_LENGTH = struct.Struct("<Q")


def read_hdf5_tree(path: str | os.PathLike, name: str | None = None,
                   byte_range: tuple[int, int] | None = None,
                   read_data: bool = True) -> StoredFile:
    """Parse the HDF5 file at `path` in a child process and return it as a `StoredFile`.

    `byte_range=(start, size)` parses the HDF5 bytes found there (an uncompressed member of a
    zip archive); `name` is how messages name the file (default: `path`); with
    `read_data=False` only groups, attributes, shapes and dtypes are read. Any failure,
    including a crash, a hang or an allocation beyond the limits inside libhdf5, is a
    FormatError naming the file."""
    path = Path(path)
    name = str(path) if name is None else name
    size = byte_range[1] if byte_range is not None else _file_size(path, name)
    data_budget = max(MIN_DATA_BUDGET, EXPANSION * size) if read_data else 0
    request = {"path": str(path), "byte_range": list(byte_range) if byte_range else None,
               "read_data": read_data, "data_budget": data_budget, "name": name}
    deadline = BASE_SECONDS + size / BYTES_PER_SECOND
    header, buffers = _run_child(request, deadline, data_budget + METADATA_BUDGET, name)
    return decode_tree(header, buffers, name)


def _file_size(path: Path, name: str) -> int:
    try:
        return path.stat().st_size
    except (OSError, ValueError) as exc:
        raise FormatError(f"{name}: cannot read ({exc})") from exc


class ByteRange(io.RawIOBase):
    """A read-only, seekable view of `size` bytes starting at `start` in an open binary file:
    an HDF5 file stored uncompressed inside a zip archive is read where it lies."""

    def __init__(self, handle, start: int, size: int):
        super().__init__()
        self._handle, self._start, self._size, self._position = handle, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._position))
        self._handle.seek(self._start + self._position)
        got = self._handle.readinto(memoryview(buffer).cast("B")[:count])
        self._position += got
        return got


# ----- the caller's side ---------------------------------------------------------------------

def _run_child(request: dict, seconds: float, byte_limit: int, name: str):
    read_fd, write_fd = os.pipe()
    try:
        if sys.platform.startswith("linux") and threading.active_count() == 1:
            import h5py  # noqa: F401 - imported once here, not again in every forked child

            process = _fork_child(request, read_fd, write_fd)
        else:  # forking a threaded process can deadlock the child: start a fresh one
            process = _spawn_child(request, write_fd)
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise FormatError(f"{name}: cannot start the isolated HDF5 reader ({exc})") from exc
    os.close(write_fd)
    deadline = time.monotonic() + seconds
    try:
        header, buffers = _receive(read_fd, deadline, byte_limit, name)
    except _ChildEnded:
        header = None
    except BaseException:
        process.kill()
        raise
    finally:
        os.close(read_fd)
        status = process.wait(max(1.0, deadline - time.monotonic()))
    if header is None or status != 0:
        raise FormatError(f"{name}: the HDF5 reader failed ({_describe_status(status)})")
    if not header.get("ok"):
        raise FormatError(f"{name}: {header.get('error', 'unreadable HDF5 content')}")
    return header, buffers


def _receive(read_fd: int, deadline: float, byte_limit: int, name: str):
    reader = _DeadlineReader(read_fd, deadline, name)
    length = _LENGTH.unpack(reader.exactly(_LENGTH.size))[0]
    if length > byte_limit:
        raise FormatError(f"{name}: the HDF5 reader's answer is larger than {byte_limit} bytes")
    try:
        header = json.loads(reader.exactly(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"{name}: the isolated HDF5 reader sent a malformed answer") from exc
    if not isinstance(header, dict):
        raise FormatError(f"{name}: the isolated HDF5 reader sent a malformed answer")
    sizes = header.get("buffers", []) if header.get("ok") else []
    if (not isinstance(sizes, list) or not all(type(size) is int and size >= 0 for size in sizes)
            or sum(sizes) + length > byte_limit):
        raise FormatError(f"{name}: the HDF5 reader's answer is larger than {byte_limit} bytes")
    return header, [reader.exactly(size, into=bytearray(size)) for size in sizes]


class _ChildEnded(Exception):
    """The child closed the pipe before its answer was complete."""


class _DeadlineReader:
    """Reads exact byte counts from a pipe, failing with a FormatError at the deadline or when
    the writer goes away early."""

    def __init__(self, fd: int, deadline: float, name: str):
        self.fd, self.deadline, self.name = fd, deadline, name
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def exactly(self, count: int, into: bytearray | None = None) -> bytearray:
        buffer = bytearray(count) if into is None else into
        view, done = memoryview(buffer), 0
        while done < count:
            left = self.deadline - time.monotonic()
            if left <= 0 or not self.poller.poll(left * 1000):
                raise FormatError(f"{self.name}: the HDF5 library did not finish reading it in "
                                  f"time (a damaged file can make it loop forever)")
            chunk = os.readv(self.fd, [view[done:done + (1 << 24)]])
            if chunk == 0:
                raise _ChildEnded()
            done += chunk
        return buffer


class _ForkedChild:
    def __init__(self, pid: int):
        self.pid, self.status = pid, None

    def kill(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, seconds: float) -> int:
        if self.status is None:
            end = time.monotonic() + seconds
            while True:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.status = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > end:
                    self.kill()
                    self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
                    break
                time.sleep(0.002)
        return self.status


class _SpawnedChild:
    def __init__(self, process: subprocess.Popen):
        self.process = process

    def kill(self) -> None:
        self.process.kill()

    def wait(self, seconds: float) -> int:
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _fork_child(request: dict, read_fd: int, write_fd: int) -> _ForkedChild:
    pid = os.fork()
    if pid == 0:  # the child: answer, then leave without running the caller's exit handlers
        code = 1
        try:
            faulthandler.disable()  # a crash here is an answer the caller reports, not news
            os.close(read_fd)
            _limit_memory(request["data_budget"])
            code = _answer(request, write_fd)
        finally:
            os._exit(code)
    return _ForkedChild(pid)


def _spawn_child(request: dict, write_fd: int) -> _SpawnedChild:
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package_root, os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, "-c", "from modelio.formats.hdf5_isolated import child_main; child_main()",
         str(write_fd)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, pass_fds=(write_fd,), env=env)
    process.stdin.write(json.dumps(request).encode("utf-8"))
    process.stdin.close()
    return _SpawnedChild(process)


def child_main() -> None:
    """Entry point of a spawned reader: the request on stdin, the answer on the fd in argv."""
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    _limit_memory(request["data_budget"])
    sys.exit(_answer(request, int(sys.argv[1])))


def _limit_memory(data_budget: int) -> None:
    try:
        import resource
    except ImportError:  # no address-space limits here; the deadline still applies
        return
    limit = _address_space() + 2 * data_budget + METADATA_BUDGET + MEMORY_HEADROOM
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:  # a limit may only be lowered
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 4 * 1024**3


def _describe_status(status: int) -> str:
    if status == 0:
        return "it stopped before its answer was complete"
    if status < 0:
        return f"libhdf5 crashed on it: signal {signal.Signals(-status).name}" \
            if -status in signal.valid_signals() else f"signal {-status}"
    return f"exit status {status}"


# ----- the child's side ----------------------------------------------------------------------

def _answer(request: dict, write_fd: int) -> int:
    """Parse the file and write the answer to `write_fd`; 0 when an answer was written."""
    try:
        encoder = TreeEncoder()
        root = _Walker(request, encoder).walk()
        header, buffers = encoder.header(root), encoder.buffers
    except FormatError as exc:
        header, buffers = _failure(str(exc)), []
    except MemoryError:
        header, buffers = _failure("reading it needs more memory than its limit"), []
    except Exception as exc:  # noqa: BLE001 - any h5py/libhdf5 error is an answer, not a crash
        header, buffers = _failure(f"damaged or unexpected HDF5 content ({_first_line(exc)})"), []
    with os.fdopen(write_fd, "wb", buffering=0) as pipe:
        try:
            pipe.write(_LENGTH.pack(len(header)) + header)
            for buffer in buffers:
                pipe.write(buffer)
        except BrokenPipeError:
            return 3
    return 0


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:200] or type(exc).__name__


def _failure(message: str) -> bytes:
    return json.dumps({"ok": False, "error": message}).encode("utf-8")


class _Walker:
    """Reads the whole file into the tree description, iteratively, within the limits."""

    def __init__(self, request: dict, encoder: TreeEncoder):
        self.request, self.encoder = request, encoder
        self.name = request["name"]
        self.budget_left = request["data_budget"]
        self.objects = 0

    def walk(self) -> dict:
        import h5py

        try:
            handle = h5py.File(self._open_source(), "r")
        except OSError as exc:
            raise FormatError(f"cannot open as HDF5 ({_first_line(exc)})") from exc
        with handle:
            root = {"attrs": self._attrs(handle), "members": {}}
            stack = [(handle, root, 0, False)]
            while stack:
                group, description, depth, skip_data = stack.pop()
                for member_name in group:
                    member = self._member(group, member_name, depth, skip_data, stack)
                    description["members"][member_name] = member
            return root

    def _open_source(self):
        path, byte_range = self.request["path"], self.request["byte_range"]
        if byte_range is None:
            return path
        view = ByteRange(open(path, "rb"), *byte_range)  # noqa: SIM115 - closed at exit
        if view.read(len(HDF5_MAGIC)) != HDF5_MAGIC:
            raise FormatError("not an HDF5 file (the HDF5 signature is missing)")
        view.seek(0)
        return view

    def _member(self, group, member_name: str, depth: int, skip_data: bool, stack: list) -> dict:
        import h5py

        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise FormatError(f"more than {MAX_OBJECTS} groups, datasets and links")
        link = group.get(member_name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            return {"kind": "link", "link_type": type(link).__name__}
        item = group[member_name]
        if isinstance(item, h5py.Group):
            if depth + 1 > MAX_DEPTH:
                raise FormatError(f"groups nested deeper than {MAX_DEPTH} at '{item.name}'")
            description = {"kind": "group", "attrs": self._attrs(item), "members": {}}
            optimizer = depth == 0 and member_name in OPTIMIZER_GROUPS
            stack.append((item, description, depth + 1, skip_data or optimizer))
            return description
        if isinstance(item, h5py.Dataset):
            return self._dataset(item, skip_data)
        return {"kind": "link", "link_type": type(item).__name__}

    def _attrs(self, item) -> dict:
        import h5py

        attrs = {}
        for attr_name in item.attrs:
            value = item.attrs[attr_name]
            if isinstance(value, h5py.Empty):
                attrs[attr_name] = {"t": "bytes", "v": ""}
            else:
                attrs[attr_name] = self.encoder.value(value)
        return attrs

    def _dataset(self, dataset, skip_data: bool) -> dict:
        shape, dtype = dataset.shape, dataset.dtype
        plain = shape is not None and (dtype.kind in RAW_KINDS or (
            dtype.kind == "V" and dtype.fields is None and dtype.subdtype is None))
        description = {"kind": "dataset", "attrs": self._attrs(dataset),
                       "shape": list(shape or ()), "dtype": dtype.str if plain else None,
                       "data": None, "unread_reason": None, "refusal": None}
        plist = dataset.id.get_create_plist()
        if plist.get_external_count():
            description["refusal"] = ("stored in external file(s); weights must be stored in the "
                                      "file itself")
        elif dataset.is_virtual:
            description["refusal"] = "that is virtual (its data lies in other files)"
        elif not plain:
            description["unread_reason"] = f"unsupported stored dtype {dtype}"
        elif not self.request["read_data"]:
            description["unread_reason"] = "only the file's structure was asked for"
        elif skip_data:
            description["unread_reason"] = "optimizer state is not read"
        else:
            reason = self._size_problem(dataset, plist)
            if reason is None:
                description["data"] = self.encoder.array(dataset[()])
            description["unread_reason"] = reason
        return description

    def _size_problem(self, dataset, plist) -> str | None:
        """Why the dataset's data may not be read (None when it may): unknown filters, declared
        bytes the file does not store, or more than the budget left."""
        declared = math.prod(dataset.shape) * dataset.dtype.itemsize
        filters = [plist.get_filter(index)[0] for index in range(plist.get_nfilters())]
        unknown = [code for code in filters if code not in KNOWN_FILTERS]
        if unknown:
            return f"its data passes through unsupported HDF5 filter(s) {unknown}"
        stored = dataset.id.get_storage_size()
        if declared and (stored == 0 or (not filters and stored < declared)):
            return (f"it declares {declared} bytes but stores {stored} (data never written: "
                    f"only a fill value)")
        if declared > self.budget_left:
            return (f"reading its {declared} bytes would pass this file's budget of "
                    f"{self.request['data_budget']} bytes of data")
        self.budget_left -= declared
        return None
