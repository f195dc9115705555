#!/usr/bin/python3
"""crashfs: a passthrough FUSE file system that knows what a power loss would leave.

    /usr/bin/python3 crashfs.py BACKING MOUNTPOINT AFTER_POWER_LOSS

Every operation on MOUNTPOINT is passed through to BACKING, so programs see an ordinary file
system. Beside that, crashfs keeps a model of what a disk would hold if the power went out now,
under worst-case POSIX semantics (in the spirit of LazyFS and CrashMonkey):

- At mount, the whole existing tree under BACKING counts as durable.
- A file's data becomes durable only at fsync/fdatasync of that file: its content is snapshotted
  then. Writes after the last fsync are lost; a file never fsync'd comes back empty.
- A directory entry (create, mkdir, symlink, link, rename in or out, unlink, rmdir) becomes
  durable only at fsync of that directory (FUSE `fsyncdir`): its name -> node table is
  snapshotted then. An entry never made durable is absent after the power loss; one removed
  without a directory fsync comes back (with the data its node last had durably).
- Nodes are keyed by an identity that survives renames: the backing inode number plus a
  generation bumped whenever crashfs creates a node, because an inode number freed by an unlink
  can be handed to a new file.

When MOUNTPOINT is unmounted (the test's "power loss", after it SIGKILLed every writer), crashfs
writes the durable state into AFTER_POWER_LOSS (created, must not exist): walking from the root's
durable entries, a directory gets the entries of its last fsync (none if never fsync'd), a file
the content of its last fsync (empty if never fsync'd). It prints one JSON summary line.

Limits: this is the worst case POSIX allows, not the behaviour of one file system (ext4 with
data=ordered, for one, often keeps more). Torn writes inside a block, reordering within one
fsync, metadata other than names and content (modes, times, xattrs) and a device that lies about
flushes are not modelled. Performance suffices for a few small image pushes: snapshots are kept
in memory and every fsync copies the whole file.
"""

import errno
import json
import os
import stat
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations


TRACING = os.environ.get("CRASHFS_TRACE") == "1"


def trace(*what):
    """CRASHFS_TRACE=1: every namespace change and fsync on stderr, to see why something was lost."""
    if TRACING:
        print(*what, file=sys.stderr, flush=True)


class CrashFs(Operations):
    use_ns = True

    # No `lock` operation on purpose: the kernel then keeps POSIX locks itself, and the name stays
    # free (fusepy would call any attribute called `lock`).

    def __init__(self, backing, mountpoint):
        self.mountpoint = mountpoint
        self.backing = os.path.realpath(backing)
        # Every model update and every namespace change happen under this lock, so a directory
        # snapshot never sees a new inode before its generation was bumped.
        self.mutex = threading.Lock()
        self.generation = {}  # backing inode -> generation of the node now holding it
        self.file_data = {}  # identity -> bytes at its last fsync
        self.dir_entries = {}  # identity -> {name: (kind, identity, symlink target)} at its last fsync
        self.root = self.identity(os.lstat(self.backing))
        self.take_existing_tree(self.backing)

    # --- the model -------------------------------------------------------------------------

    def identity(self, st):
        return (st.st_ino, self.generation.get(st.st_ino, 0))

    def new_node(self, path):
        """Called right after crashfs created a node: its inode may be a reused one."""
        ino = os.lstat(path).st_ino
        self.generation[ino] = self.generation.get(ino, 0) + 1

    def snapshot_dir(self, fd):
        entries = {}
        for name in os.listdir(fd):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                entries[name] = ("dir", self.identity(st), None)
            elif stat.S_ISLNK(st.st_mode):
                entries[name] = ("symlink", self.identity(st), os.readlink(name, dir_fd=fd))
            elif stat.S_ISREG(st.st_mode):
                entries[name] = ("file", self.identity(st), None)
            # sockets, fifos, devices: not part of what a registry stores
        self.dir_entries[self.identity(os.fstat(fd))] = entries
        return entries

    def take_existing_tree(self, path):
        """At mount everything already there is durable: its entries and its data."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            entries = self.snapshot_dir(fd)
        finally:
            os.close(fd)
        for name, (kind, ident, _) in entries.items():
            child = os.path.join(path, name)
            if kind == "dir":
                self.take_existing_tree(child)
            elif kind == "file":
                with open(child, "rb") as f:
                    self.file_data[ident] = f.read()

    def materialise(self, out):
        """Writes the durable state into `out`; returns counts for the summary line."""
        counts = {"dirs": 0, "files": 0, "emptyFiles": 0, "symlinks": 0, "emptied": []}
        emitted_dirs = set()

        def emit(dir_ident, path):
            for name, (kind, ident, target) in sorted(self.dir_entries.get(dir_ident, {}).items()):
                child = os.path.join(path, name)
                if kind == "dir":
                    # A directory renamed between two durable parents could be listed in both;
                    # a real file system keeps it in one, so the first one wins.
                    if ident in emitted_dirs:
                        continue
                    emitted_dirs.add(ident)
                    os.mkdir(child)
                    counts["dirs"] += 1
                    emit(ident, child)
                elif kind == "symlink":
                    os.symlink(target, child)
                    counts["symlinks"] += 1
                else:
                    data = self.file_data.get(ident)
                    with open(child, "wb") as f:
                        f.write(data or b"")
                    counts["files"] += 1
                    if data is None:
                        counts["emptyFiles"] += 1
                        counts["emptied"].append(os.path.relpath(child, out))

        os.mkdir(out)
        emitted_dirs.add(self.root)
        emit(self.root, out)
        return counts

    # --- passthrough, with the model's hooks -------------------------------------------------

    def init(self, path):
        # Printed once the kernel completed the mount, so a test can wait for it.
        print(json.dumps({"crashfs": "mounted", "mountpoint": self.mountpoint}), flush=True)

    def full(self, path):
        return self.backing + path

    def getattr(self, path, fh=None):
        st = os.fstat(fh.fh) if fh else os.lstat(self.full(path))
        keys = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime_ns", "st_mtime_ns", "st_ctime_ns", "st_blocks")
        attrs = {k.replace("_ns", ""): getattr(st, k) for k in keys}
        return attrs

    def access(self, path, amode):
        if not os.access(self.full(path), amode):
            raise FuseOSError(errno.EACCES)

    def readlink(self, path):
        return os.readlink(self.full(path))

    def statfs(self, path):
        sv = os.statvfs(self.full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")
        return {k: getattr(sv, k) for k in keys}

    def chmod(self, path, mode):
        os.chmod(self.full(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self.full(path), uid, gid)

    def utimens(self, path, times=None):
        # libfuse passes utimensat's UTIME_NOW / UTIME_OMIT as a timespec of 0 s and that many ns.
        utime_now, utime_omit = (1 << 30) - 1, (1 << 30) - 2
        st = os.lstat(self.full(path))
        now = time.time_ns()
        wanted = times or (utime_now, utime_now)
        current = (st.st_atime_ns, st.st_mtime_ns)
        ns = tuple(c if t == utime_omit else now if t == utime_now else t for t, c in zip(wanted, current))
        os.utime(self.full(path), ns=ns)

    def truncate(self, path, length, fh=None):
        if fh:
            os.ftruncate(fh.fh, length)
        else:
            os.truncate(self.full(path), length)

    # Namespace changes: passed through under the lock. They touch the model only by bumping the
    # generation of new nodes; what they change becomes durable at the directory's fsync.

    def mkdir(self, path, mode):
        with self.mutex:
            os.mkdir(self.full(path), mode)
            self.new_node(self.full(path))
            trace("mkdir", path)

    def rmdir(self, path):
        with self.mutex:
            os.rmdir(self.full(path))
            trace("rmdir", path)

    def unlink(self, path):
        with self.mutex:
            os.unlink(self.full(path))
            trace("unlink", path)

    def symlink(self, target, source):
        with self.mutex:
            os.symlink(source, self.full(target))
            self.new_node(self.full(target))
            trace("symlink", target)

    def link(self, target, source):
        with self.mutex:
            os.link(self.full(source), self.full(target))
            trace("link", source, target)

    def rename(self, old, new):
        with self.mutex:
            os.rename(self.full(old), self.full(new))
            trace("rename", old, new)

    def create(self, path, mode, fi):
        with self.mutex:
            fi.fh = os.open(self.full(path), fi.flags | os.O_CREAT, mode)
            self.new_node(self.full(path))
            trace("create", path)
        return 0

    # Files: data passes through; fsync snapshots what the file holds now.

    def open(self, path, fi):
        fi.fh = os.open(self.full(path), fi.flags)
        return 0

    def read(self, path, size, offset, fi):
        return os.pread(fi.fh, size, offset)

    def write(self, path, data, offset, fi):
        return os.pwrite(fi.fh, data, offset)

    def flush(self, path, fi):
        return 0

    def release(self, path, fi):
        os.close(fi.fh)
        return 0

    def fsync(self, path, datasync, fi):
        # The descriptor may be write-only, and its path may be gone (unlinked while open):
        # read the content through /proc instead.
        with self.mutex:
            ident = self.identity(os.fstat(fi.fh))
            with open(f"/proc/self/fd/{fi.fh}", "rb") as f:
                self.file_data[ident] = f.read()
            trace("fsync", path, len(self.file_data[ident]), "bytes")
        return 0

    # Directories: Node's `fsync` on a directory descriptor arrives as fsyncdir.

    def opendir(self, path):
        return os.open(self.full(path), os.O_RDONLY | os.O_DIRECTORY)

    def readdir(self, path, fh):
        return [".", "..", *os.listdir(fh)]

    def releasedir(self, path, fh):
        os.close(fh)
        return 0

    def fsyncdir(self, path, datasync, fh):
        with self.mutex:
            entries = self.snapshot_dir(fh)
            trace("fsyncdir", path, sorted(entries))
        return 0


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: crashfs.py BACKING MOUNTPOINT AFTER_POWER_LOSS")
    backing, mountpoint, after = sys.argv[1:]
    fs = CrashFs(backing, mountpoint)
    # hard_remove: an unlinked open file really goes (no .fuse_hidden* renames in the tree).
    # big_writes: 128 KiB writes instead of 4 KiB. Threads on, the lock above orders what matters.
    FUSE(fs, mountpoint, raw_fi=True, foreground=True, nothreads=False, hard_remove=True, big_writes=True, fsname="crashfs")
    counts = fs.materialise(after)
    print(json.dumps({"crashfs": "materialised", "dir": after, **counts}), flush=True)


if __name__ == "__main__":
    main()
