"""The power-loss file system itself (pyfuse3, trio): see tests/history/powerfs.py.

Run as `python -m tests.history.powerfs_server BACKING MOUNTPOINT`.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import sys
import time

import pyfuse3
import trio

from tests.history.powerfs import ORPHANS, Node


class PowerLossFs(pyfuse3.Operations):
    def __init__(self, backing: str) -> None:
        super().__init__()
        self.backing = backing
        root = pyfuse3.ROOT_INODE
        self.nodes = {root: Node(root, True, stat.S_IFDIR | 0o755, self.backing)}
        self.next_ino = root + 1
        self.dead = False

    # --- the model -------------------------------------------------------------

    def node(self, ino: int) -> Node:
        if self.dead:
            raise pyfuse3.FUSEError(errno.EIO)
        try:
            return self.nodes[ino]
        except KeyError:
            raise pyfuse3.FUSEError(errno.ENOENT) from None

    def new_node(self, is_dir: bool, mode: int, backing_path: str | None) -> Node:
        node = Node(self.next_ino, is_dir, mode, backing_path)
        self.nodes[node.ino] = node
        self.next_ino += 1
        return node

    def entries(self, node: Node) -> dict[bytes, int]:
        if not node.is_dir:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        if node.entries is None:
            node.entries = {}
            if node.backing is not None:
                for entry in os.scandir(node.backing):
                    if node.ino == pyfuse3.ROOT_INODE and entry.name == ORPHANS:
                        continue
                    st = entry.stat(follow_symlinks=False)
                    child = self.new_node(entry.is_dir(), st.st_mode, entry.path)
                    node.entries[os.fsencode(entry.name)] = child.ino
        return node.entries

    def content(self, node: Node) -> bytearray:
        """The file's content, loaded to be changed."""
        if node.data is None:
            node.data = bytearray()
            if node.backing is not None:
                with open(node.backing, "rb") as f:
                    node.data = bytearray(f.read())
        return node.data

    def size(self, node: Node) -> int:
        if node.data is not None:
            return len(node.data)
        return os.stat(node.backing).st_size if node.backing and not node.is_dir else 0

    def attrs(self, node: Node) -> pyfuse3.EntryAttributes:
        a = pyfuse3.EntryAttributes()
        a.st_ino, a.generation, a.st_mode = node.ino, 0, node.mode
        a.entry_timeout = a.attr_timeout = 0  # the kernel asks each time: sizes change
        a.st_nlink = 2 if node.is_dir else 1
        a.st_uid, a.st_gid = os.getuid(), os.getgid()
        a.st_size = self.size(node)
        a.st_blksize, a.st_blocks = 4096, (a.st_size + 511) // 512
        a.st_atime_ns = a.st_mtime_ns = a.st_ctime_ns = node.mtime_ns
        return a

    def sync_file(self, node: Node) -> None:
        if node.is_dir or node.dirty is None or node.data is None:
            return
        if node.backing is None:
            node.backing = os.path.join(self.backing, ORPHANS, str(node.ino))
        fd = os.open(node.backing, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, node.data[node.dirty :], node.dirty)
            os.ftruncate(fd, len(node.data))
        finally:
            os.close(fd)
        node.data, node.dirty = None, None  # the backing file is the content now

    def sync_dir(self, node: Node) -> None:
        """Make the directory's names durable: the backing directory gets them."""
        if node.backing is None:
            node.backing = os.path.join(self.backing, ORPHANS, f"d{node.ino}")
            os.mkdir(node.backing)
        view = {name: self.nodes[ino] for name, ino in self.entries(node).items()}
        for name in os.listdir(node.backing):
            path = os.path.join(node.backing, name)
            holder = next((n for n in self.nodes.values() if n.backing == path), None)
            if holder is not None and view.get(os.fsencode(name)) is not holder:
                self.move(holder, os.path.join(self.backing, ORPHANS, str(holder.ino)))
            elif holder is None and path != os.path.join(self.backing, ORPHANS):
                os.unlink(path)
        for name, child in view.items():
            path = os.path.join(node.backing, os.fsdecode(name))
            if child.backing == path:
                continue
            if child.backing is not None:
                self.move(child, path)
            elif child.is_dir:
                os.mkdir(path)
                child.backing = path
            else:
                open(path, "wb").close()  # a name for data never synced: empty
                child.backing = path

    def move(self, node: Node, path: str) -> None:
        old = node.backing
        assert old is not None
        os.rename(old, path)
        for n in self.nodes.values():  # a directory moved: its descendants moved too
            if n.backing is not None and (n.backing == old or n.backing.startswith(old + "/")):
                n.backing = path + n.backing[len(old) :]

    def sync_all(self) -> None:
        for node in list(self.nodes.values()):
            self.sync_file(node)
        for node in list(self.nodes.values()):
            if node.is_dir and node.entries is not None:
                self.sync_dir(node)

    def power_loss(self) -> None:
        self.dead = True
        self.nodes.clear()
        print("power lost", flush=True)

    # --- FUSE handlers ---------------------------------------------------------------

    async def lookup(self, parent: int, name: bytes, ctx: object = None) -> pyfuse3.EntryAttributes:
        entries = self.entries(self.node(parent))
        if name not in entries:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return self.attrs(self.nodes[entries[name]])

    async def getattr(self, ino: int, ctx: object = None) -> pyfuse3.EntryAttributes:
        return self.attrs(self.node(ino))

    async def setattr(
        self,
        ino: int,
        attr: pyfuse3.EntryAttributes,
        fields: pyfuse3.SetattrFields,
        fh: int | None,
        ctx: object,
    ) -> pyfuse3.EntryAttributes:
        node = self.node(ino)
        if fields.update_size:
            data = self.content(node)
            if attr.st_size < len(data):
                del data[attr.st_size :]
            else:
                data.extend(bytes(attr.st_size - len(data)))
            node.dirty = min(node.dirty if node.dirty is not None else attr.st_size, attr.st_size)
        if fields.update_mode:
            node.mode = stat.S_IFMT(node.mode) | stat.S_IMODE(attr.st_mode)
        node.mtime_ns = time.time_ns()
        return self.attrs(node)

    async def opendir(self, ino: int, ctx: object) -> int:
        self.entries(self.node(ino))
        return ino

    async def readdir(self, fh: int, start_id: int, token: pyfuse3.ReaddirToken) -> None:
        entries = sorted(self.entries(self.node(fh)).items())
        for index, (name, ino) in enumerate(entries[start_id:], start_id + 1):
            if not pyfuse3.readdir_reply(token, name, self.attrs(self.nodes[ino]), index):
                return

    async def releasedir(self, fh: int) -> None:
        pass

    async def fsyncdir(self, fh: int, datasync: bool) -> None:
        self.sync_dir(self.node(fh))

    async def mkdir(
        self, parent: int, name: bytes, mode: int, ctx: object
    ) -> pyfuse3.EntryAttributes:
        entries = self.entries(self.node(parent))
        if name in entries:
            raise pyfuse3.FUSEError(errno.EEXIST)
        child = self.new_node(True, stat.S_IFDIR | stat.S_IMODE(mode), None)
        child.entries = {}
        entries[name] = child.ino
        return self.attrs(child)

    async def create(
        self, parent: int, name: bytes, mode: int, flags: int, ctx: object
    ) -> tuple[pyfuse3.FileInfo, pyfuse3.EntryAttributes]:
        entries = self.entries(self.node(parent))
        if name in entries:
            raise pyfuse3.FUSEError(errno.EEXIST)
        child = self.new_node(False, stat.S_IFREG | stat.S_IMODE(mode), None)
        child.data, child.dirty = bytearray(), 0
        entries[name] = child.ino
        return pyfuse3.FileInfo(fh=child.ino), self.attrs(child)

    async def open(self, ino: int, flags: int, ctx: object) -> pyfuse3.FileInfo:
        node = self.node(ino)
        if flags & os.O_TRUNC:
            self.content(node).clear()
            node.dirty = 0
        return pyfuse3.FileInfo(fh=ino)

    async def read(self, fh: int, off: int, size: int) -> bytes:
        node = self.node(fh)
        if node.data is not None:
            return bytes(node.data[off : off + size])
        if node.backing is None:
            return b""
        with open(node.backing, "rb") as f:
            f.seek(off)
            return f.read(size)

    async def write(self, fh: int, off: int, buf: bytes) -> int:
        node = self.node(fh)
        data = self.content(node)
        if off > len(data):
            data.extend(bytes(off - len(data)))
        data[off : off + len(buf)] = buf
        node.dirty = min(node.dirty if node.dirty is not None else off, off)
        node.mtime_ns = time.time_ns()
        return len(buf)

    async def fsync(self, fh: int, datasync: bool) -> None:
        self.sync_file(self.node(fh))

    async def flush(self, fh: int) -> None:
        self.node(fh)

    async def release(self, fh: int) -> None:
        pass

    async def unlink(self, parent: int, name: bytes, ctx: object) -> None:
        entries = self.entries(self.node(parent))
        if entries.pop(name, None) is None:
            raise pyfuse3.FUSEError(errno.ENOENT)

    async def rmdir(self, parent: int, name: bytes, ctx: object) -> None:
        entries = self.entries(self.node(parent))
        ino = entries.get(name)
        if ino is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        if self.entries(self.nodes[ino]):
            raise pyfuse3.FUSEError(errno.ENOTEMPTY)
        del entries[name]

    async def rename(
        self,
        parent_old: int,
        name_old: bytes,
        parent_new: int,
        name_new: bytes,
        flags: int,
        ctx: object,
    ) -> None:
        old = self.entries(self.node(parent_old))
        new = self.entries(self.node(parent_new))
        if name_old not in old:
            raise pyfuse3.FUSEError(errno.ENOENT)
        if flags:
            raise pyfuse3.FUSEError(errno.EINVAL)
        new[name_new] = old.pop(name_old)

    async def forget(self, inode_list: list[tuple[int, int]]) -> None:
        pass

    async def statfs(self, ctx: object) -> pyfuse3.StatvfsData:
        st = os.statvfs(self.backing)
        out = pyfuse3.StatvfsData()
        for name in (
            "f_bsize",
            "f_frsize",
            "f_blocks",
            "f_bfree",
            "f_bavail",
            "f_files",
            "f_ffree",
            "f_favail",
            "f_namemax",
        ):
            setattr(out, name, getattr(st, name))
        return out


def serve(backing: str, mountpoint: str) -> None:
    shutil.rmtree(os.path.join(backing, ORPHANS), ignore_errors=True)  # lost at power loss
    os.makedirs(os.path.join(backing, ORPHANS))

    fs = PowerLossFs(backing)

    async def signals(nursery: trio.Nursery) -> None:
        with trio.open_signal_receiver(signal.SIGUSR1, signal.SIGTERM) as received:
            async for signum in received:
                if signum == signal.SIGUSR1:
                    fs.power_loss()
                else:
                    fs.sync_all()
                    nursery.cancel_scope.cancel()

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(signals, nursery)
            await pyfuse3.main()
            nursery.cancel_scope.cancel()  # unmounted from outside

    pyfuse3.init(fs, mountpoint, {"fsname=powerfs", "default_permissions"})
    try:
        trio.run(run)
    finally:
        pyfuse3.close(unmount=True)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
