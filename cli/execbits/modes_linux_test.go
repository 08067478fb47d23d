package execbits

import "testing"

func TestKeepsModesMagic(t *testing.T) {
	for magic, want := range map[uint32]bool{
		0xef53:     true,  // ext4
		0x01021994: true,  // tmpfs
		0x794c7630: true,  // overlayfs
		0x01021997: false, // 9p: WSL2 /mnt/c
		0x4d44:     false, // vfat
		0x2011bab0: false, // exfat
		0x5346544e: false, // ntfs
		0x65735546: false, // fuse (ntfs-3g)
		0xff534d42: false, // cifs
	} {
		if got := keepsModesMagic(magic); got != want {
			t.Errorf("keepsModesMagic(%#x) = %v, want %v", magic, got, want)
		}
	}
	// The test's temp dir is on a disk that keeps modes (ext4, tmpfs or
	// overlay in CI).
	if !fsKeepsModes(t.TempDir()) {
		t.Errorf("fsKeepsModes(%s) = false", t.TempDir())
	}
}
