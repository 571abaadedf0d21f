// The guest's /init (PID 1, busybox sh), baked into the initramfs by image.ts. Changing this text changes the
// initramfs' name (a hash of it), so the next prepare rebuilds it.
//
// What it does, in order:
//  1. mounts proc, sys, devtmpfs; sends its output to the serial console (lines starting with "tnfvm: ");
//  2. insmods the boot modules (virtio, virtio_pci, 9p, overlay: the order of BOOT_MODULES);
//  3. mounts the job directory (9p tag tnfvmjob, read-write, cache=none so host and guest see each other's writes at
//     once) and sources its job.conf (shell variables written by guest.ts);
//  4. mounts the host root (9p tag hostroot, read-only, cache=loose) under an overlay whose upper layer is a tmpfs:
//     the guest sees the host's files and may write anywhere, its writes stay in guest RAM;
//  5. in that new root: proc, sys, devtmpfs, devpts, /dev/shm, /run (tmpfs), hugetlbfs (2 MiB) on /dev/hugepages,
//     the cached kernel's modules over /lib/modules/KVER, and the job directory at its host path;
//  6. modprobes TNFVM_MODPROBE (chrooted: the host's modprobe over the guest kernel's modules) and moves the NICs
//     named in TNFVM_BIND_NICS to driver TNFVM_BIND_DRIVER (unbind, driver_override, drivers_probe);
//  7. runs JOB/job.sh chrooted into the new root, stdout and stderr into JOB/stdout and JOB/stderr, its exit
//     status into JOB/rc, then powers off (QEMU runs with -no-reboot, so any reboot or panic also ends it).
export const INIT_SCRIPT = `#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
say() { echo "tnfvm: $*"; }
off() { sync; poweroff -f; sleep 5; echo b > /proc/sysrq-trigger; }
fail() { say "FAILED: $*"; [ -f /job/job.conf ] && echo "$*" >> /job/init-error; off; }
say "init"
for m in /modules/*.ko; do insmod "$m" || fail "insmod $m"; done
mkdir -p /job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none tnfvmjob /job || fail "mount of the job share"
. /job/job.conf || fail "job.conf"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || fail "mount of the host root"
mount -t tmpfs -o mode=0755 tmpfs /upper || fail "tmpfs"
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot || fail "overlay"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm $R/dev/hugepages $R/run $R/tmp
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/run
mount -t hugetlbfs -o pagesize=2M hugetlbfs $R/dev/hugepages || fail "hugetlbfs"
mkdir -p $R/lib/modules/$TNFVM_KVER && mount --bind /lower$TNFVM_MODULES $R/lib/modules/$TNFVM_KVER || fail "modules bind"
mkdir -p $R$TNFVM_JOB && mount --bind /job $R$TNFVM_JOB || fail "job bind"
for m in $TNFVM_MODPROBE; do chroot $R /sbin/modprobe "$m" || fail "modprobe $m"; done
for d in $TNFVM_BIND_NICS; do
  [ -e /sys/bus/pci/devices/$d/driver ] && echo $d > /sys/bus/pci/devices/$d/driver/unbind
  echo $TNFVM_BIND_DRIVER > /sys/bus/pci/devices/$d/driver_override
  echo $d > /sys/bus/pci/drivers_probe
  [ -e /sys/bus/pci/drivers/$TNFVM_BIND_DRIVER/$d ] || fail "binding $d to $TNFVM_BIND_DRIVER"
done
say "job start"
chroot $R /bin/sh $TNFVM_JOB/job.sh >/job/stdout 2>/job/stderr
echo $? > /job/rc
say "job done rc=$(cat /job/rc)"
off
`;
