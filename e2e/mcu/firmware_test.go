package mcu

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mongoose-os/mos/bench/suite"
)

// The STM32F746ZG's memory map: 1 MiB of flash at 0x08000000 and 320 KiB
// of SRAM (DTCM, SRAM1, SRAM2) at 0x20000000.
const (
	flashStart, flashEnd = 0x08000000, 0x08000000 + 1<<20
	sramStart, sramEnd   = 0x20000000, 0x20000000 + 320<<10
)

// ARM ELF header flags (ARM ELF ABI, e_flags).
const (
	efARMEABIMask   = 0xff000000
	efARMEABIVer5   = 0x05000000
	efARMABIFloatHd = 0x00000400
)

// checkFirmware checks the firmware a build left in app/build as firmware
// for the STM32F746: the ELF is ARM EABI5 hard-float; every fw.zip part's
// size and hashes match the manifest; the app image starts with a vector
// table whose initial stack pointer is in SRAM and whose reset handler is
// in flash, in Thumb state; the SPIFFS image linked into the firmware
// lists the app's fs/ file with its content (read by the SDK image's own
// unspiffs8); the generated config holds the app's schema entry. When
// marker is set, the app image must hold it (an edited log line).
func checkFirmware(t *testing.T, image, app, marker string) {
	t.Helper()
	build := filepath.Join(app, "build")
	elfPath := filepath.Join(build, "objs", "app.elf")
	f, err := elf.Open(elfPath)
	if err != nil {
		t.Errorf("firmware ELF: %v", err)
		return
	}
	defer f.Close()
	if f.Machine != elf.EM_ARM || f.Class != elf.ELFCLASS32 {
		t.Errorf("%s: machine %v class %v, want EM_ARM ELFCLASS32", elfPath, f.Machine, f.Class)
	}
	flags, err := elfFlags(elfPath)
	if err != nil {
		t.Error(err)
	} else if flags&efARMEABIMask != efARMEABIVer5 || flags&efARMABIFloatHd == 0 {
		t.Errorf("%s: e_flags %#x, want EABI5 (%#x) with the hard-float ABI (%#x)", elfPath, flags, efARMEABIVer5, efARMABIFloatHd)
	}

	parts := checkFwZip(t, filepath.Join(build, "fw.zip"))
	appImg, ok := parts["app"]
	if !ok {
		t.Errorf("fw.zip has no part app (parts: %v)", keys(parts))
	} else {
		checkVectorTable(t, appImg)
		if marker != "" && !bytes.Contains(appImg, []byte(marker)) {
			t.Errorf("the app image does not hold %q", marker)
		}
	}

	fsImg := symbolBytes(t, f, "fs_img")
	if fsImg != nil {
		if appImg != nil && !bytes.Contains(appImg, fsImg) {
			t.Error("the app image in fw.zip does not hold the ELF's fs_img")
		}
		checkSPIFFS(t, image, fsImg)
	}

	hdr, err := os.ReadFile(filepath.Join(build, "gen", "mgos_config.h"))
	if err != nil {
		t.Errorf("generated config: %v", err)
	} else if !strings.Contains(string(hdr), "mgos_sys_config_get_mcutest_greeting") {
		t.Error("build/gen/mgos_config.h has no getter for the schema entry mcutest.greeting")
	}
	cfg, err := os.ReadFile(filepath.Join(build, "gen", "mgos_config.c"))
	if err != nil {
		t.Errorf("generated config: %v", err)
	} else if !strings.Contains(string(cfg), `"`+suite.MCUGreeting+`"`) {
		t.Errorf("build/gen/mgos_config.c does not hold the default %q of mcutest.greeting", suite.MCUGreeting)
	}
	if appImg != nil && !bytes.Contains(appImg, []byte(suite.MCUGreeting)) {
		t.Errorf("the app image does not hold the config default %q", suite.MCUGreeting)
	}
}

// elfFlags reads e_flags of a 32-bit little-endian ELF (debug/elf does not
// expose them).
func elfFlags(p string) (uint32, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	if len(b) < 0x28 {
		return 0, fmt.Errorf("%s: too short for an ELF header", p)
	}
	return binary.LittleEndian.Uint32(b[0x24:]), nil
}

type fwPart struct {
	Src      string `json:"src"`
	Size     int64  `json:"size"`
	CsSHA1   string `json:"cs_sha1"`
	CsSHA256 string `json:"cs_sha256"`
	Addr     any    `json:"addr"`
	Type     string `json:"type"`
}

// checkFwZip checks every part the manifest names against its file and
// returns the parts' bytes by name.
func checkFwZip(t *testing.T, p string) map[string][]byte {
	t.Helper()
	z, err := zip.OpenReader(p)
	if err != nil {
		t.Errorf("fw.zip: %v", err)
		return nil
	}
	defer z.Close()
	files := map[string]*zip.File{}
	var manifest string
	for _, f := range z.File {
		files[f.Name] = f
		if path.Base(f.Name) == "manifest.json" {
			manifest = f.Name
		}
	}
	if manifest == "" {
		t.Errorf("%s has no manifest.json", p)
		return nil
	}
	var m struct {
		Platform string            `json:"platform"`
		Parts    map[string]fwPart `json:"parts"`
	}
	if err := json.Unmarshal(readZip(t, files[manifest]), &m); err != nil {
		t.Errorf("%s: %s: %v", p, manifest, err)
		return nil
	}
	if m.Platform != "stm32" {
		t.Errorf("%s: manifest platform %q, want stm32", p, m.Platform)
	}
	if len(m.Parts) == 0 {
		t.Errorf("%s: manifest names no parts", p)
	}
	out := map[string][]byte{}
	for name, part := range m.Parts {
		zf := files[path.Join(path.Dir(manifest), part.Src)]
		if zf == nil {
			t.Errorf("%s: part %s: no file %s", p, name, part.Src)
			continue
		}
		b := readZip(t, zf)
		s1, s256 := sha1.Sum(b), sha256.Sum256(b)
		if int64(len(b)) != part.Size || hex.EncodeToString(s1[:]) != part.CsSHA1 || hex.EncodeToString(s256[:]) != part.CsSHA256 {
			t.Errorf("%s: part %s (%s): %d bytes sha1 %x sha256 %x; the manifest says %d bytes sha1 %s sha256 %s",
				p, name, part.Src, len(b), s1, s256, part.Size, part.CsSHA1, part.CsSHA256)
		}
		if name == "app" && !atFlashStart(part.Addr) {
			t.Errorf("%s: part app at %v, want flash start 0x08000000", p, part.Addr)
		}
		out[name] = b
	}
	return out
}

// atFlashStart says whether a manifest's addr (a number, or a string such
// as "0x08000000") is the start of flash.
func atFlashStart(addr any) bool {
	switch a := addr.(type) {
	case float64:
		return a == flashStart
	case string:
		n, err := strconv.ParseUint(a, 0, 32)
		return err == nil && n == flashStart
	}
	return false
}

func readZip(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return b
}

// vectorTable checks the first two words of the app image: the initial
// stack pointer (in SRAM, at most its end: the stack grows down) and the
// reset handler (in flash, with the Thumb bit: Cortex-M runs Thumb only,
// and a vector without it faults at reset).
func vectorTable(img []byte) (sp, reset uint32, err error) {
	if len(img) < 8 {
		return 0, 0, fmt.Errorf("app image of %d bytes has no vector table", len(img))
	}
	sp, reset = binary.LittleEndian.Uint32(img), binary.LittleEndian.Uint32(img[4:])
	if sp <= sramStart || sp > sramEnd {
		return sp, reset, fmt.Errorf("initial stack pointer %#08x is outside SRAM (%#08x, %#08x]", sp, sramStart, sramEnd)
	}
	if reset < flashStart || reset >= flashEnd || reset&1 == 0 {
		return sp, reset, fmt.Errorf("reset handler %#08x is not a Thumb address in flash [%#08x, %#08x)", reset, flashStart, flashEnd)
	}
	return sp, reset, nil
}

func checkVectorTable(t *testing.T, img []byte) {
	t.Helper()
	sp, reset, err := vectorTable(img)
	if err != nil {
		t.Error(err)
		return
	}
	t.Logf("vector table: SP %#08x, reset %#08x", sp, reset)
}

// TestVectorTableRejects: the vector table check fails on what a wrong
// image would hold, and the manifest's address check on another address.
func TestVectorTableRejects(t *testing.T) {
	le := func(sp, reset uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, sp), reset)
	}
	if _, _, err := vectorTable(le(0x20050000, 0x08043249)); err != nil {
		t.Errorf("the table seen in a real build: %v", err)
	}
	for name, img := range map[string][]byte{
		"short":            {1, 2, 3},
		"SP past SRAM":     le(0x20050004, 0x08043249),
		"SP in flash":      le(0x08010000, 0x08043249),
		"reset not Thumb":  le(0x20050000, 0x08043248),
		"reset past flash": le(0x20050000, 0x08100001),
		"reset in SRAM":    le(0x20050000, 0x20000101),
	} {
		if _, _, err := vectorTable(img); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if !atFlashStart(float64(0x08000000)) || !atFlashStart("0x08000000") || atFlashStart(float64(0x08004000)) || atFlashStart("0x0") {
		t.Error("atFlashStart is wrong")
	}
}

// symbolBytes returns the bytes of a data symbol of f.
func symbolBytes(t *testing.T, f *elf.File, name string) []byte {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Errorf("ELF symbols: %v", err)
		return nil
	}
	for _, s := range syms {
		if s.Name != name {
			continue
		}
		for _, sec := range f.Sections {
			if sec.Type == elf.SHT_NOBITS || s.Value < sec.Addr || s.Value+s.Size > sec.Addr+sec.Size {
				continue
			}
			data, err := sec.Data()
			if err != nil {
				t.Errorf("ELF section %s: %v", sec.Name, err)
				return nil
			}
			off := s.Value - sec.Addr
			return data[off : off+s.Size]
		}
		t.Errorf("ELF symbol %s at %#x: in no section with data", name, s.Value)
		return nil
	}
	t.Errorf("the ELF has no symbol %s (the file system image)", name)
	return nil
}

// checkSPIFFS lists and extracts the SPIFFS image with the SDK image's own
// unspiffs8 (the tool matching mkspiffs8, which the core ran) and checks
// the app's fs/ file is there with its content.
func checkSPIFFS(t *testing.T, image string, img []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fs.bin"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o777); err != nil {
		t.Fatal(err)
	}
	// The vfs-fs-spiffs lib's geometry for stm32 (MGOS_ROOT_FS_OPTS_SPIFFS).
	args := []string{"run", "--rm", "--network", "none", "-v", dir + ":/fs"}
	// The extracted files belong to this test's user.
	args = append(args, "--user", fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()))
	// -l lists, -d extracts: one run of each, in one container.
	args = append(args, image, "sh", "-c", `set -e; g="-b 4096 -p 256 -e 4096"
unspiffs8 $g -l /fs/fs.bin; unspiffs8 $g -d /fs/out /fs/fs.bin`)
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Errorf("unspiffs8 in %s: %v\n%s", image, err, out)
		return
	}
	name := path.Base(suite.MCUFSFile)
	if !strings.Contains(string(out), name+" ") {
		t.Errorf("unspiffs8 -l does not list %s:\n%s", name, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "out", name))
	if err != nil {
		t.Errorf("%s extracted from the SPIFFS image: %v (unspiffs8 said:\n%s)", name, err, out)
	} else if string(got) != suite.MCUFSContent {
		t.Errorf("%s in the SPIFFS image holds %q, want %q", name, got, suite.MCUFSContent)
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
