package execbits

import "syscall"

// Magic numbers (statfs f_type) of Linux file systems whose Unix modes are
// made up rather than stored, so a file's x bits say nothing about it:
//
//   - 9p (0x01021997): WSL2's drvfs mounts of Windows drives (/mnt/c),
//     where every file usually shows as 0777;
//   - vfat/msdos (0x4d44) and exfat (0x2011bab0): modes come from mount
//     options (fmask/dmask);
//   - ntfs (0x5346544e, the kernel's ntfs and ntfs3 drivers);
//   - FUSE (0x65735546): ntfs-3g and exfat-fuse mount as fuseblk; other
//     FUSE file systems (sshfs) cannot be told apart by statfs, so they
//     get the #! rule too;
//   - SMB/CIFS (0xff534d42, 0xfe534d42): Windows shares report
//     file_mode/dir_mode from mount options.
//
// On these, a file git does not track gets 0755 only when it starts with
// "#!".
var fakesModes = map[uint32]string{
	0x01021997: "9p",
	0x4d44:     "vfat",
	0x2011bab0: "exfat",
	0x5346544e: "ntfs",
	0x65735546: "fuse",
	0xff534d42: "cifs",
	0xfe534d42: "smb2",
}

// fsKeepsModes reports whether the file system holding dir stores Unix
// modes. If statfs fails, modes are taken as kept (the common case).
func fsKeepsModes(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return true
	}
	return keepsModesMagic(uint32(st.Type))
}

// keepsModesMagic is false for the magic numbers of fakesModes.
func keepsModesMagic(magic uint32) bool {
	_, fake := fakesModes[magic]
	return !fake
}
