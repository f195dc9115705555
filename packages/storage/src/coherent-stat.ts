import { statfs } from "node:fs/promises";

/**
 * Filesystems (statfs f_type) served by the kernel the registry runs on: stat(2) there reads the
 * inode every process writes through, so it sees any write completed anywhere on the machine.
 * Replicas sharing such a root are processes of one machine.
 */
const LOCAL_FILESYSTEMS = new Map<number, string>([
  [0xef53, "ext2/3/4"],
  [0x58465342, "xfs"],
  [0x9123683e, "btrfs"],
  [0x01021994, "tmpfs"],
  [0x2fc12fc1, "zfs"],
  [0xf2f52010, "f2fs"],
  [0x794c7630, "overlayfs"],
]);

/**
 * Whether a stat of a file under `root` is never stale. Not on network filesystems (NFS, EFS,
 * CIFS, CephFS, FUSE, …): an NFS client answers stat from its attribute cache for seconds, and only
 * an open revalidates it (close-to-open consistency), so readers there keep open + fstat.
 */
export async function statIsCoherent(root: string): Promise<boolean> {
  try {
    return LOCAL_FILESYSTEMS.has(Number((await statfs(root)).type));
  } catch {
    return false;
  }
}
