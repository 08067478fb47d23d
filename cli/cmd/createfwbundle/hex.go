package createfwbundle

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
)

// hexSegment is a run of bytes at an address, read from an Intel HEX file.
type hexSegment struct {
	Addr uint32
	Data []byte
}

// Stock mos fills gaps in a HEX file's data shorter than this with 0xff and
// starts a new part at a longer one.
const (
	hexFill   = 0xff
	hexMaxGap = 512
)

// parseHex reads Intel HEX records (data, end of file, extended segment
// and linear addresses; start addresses are read and not used) into
// segments: consecutive data joins one segment, a gap under maxGap is
// filled with fill, a longer gap (or a jump back) starts a new segment.
func parseHex(data []byte, fill byte, maxGap int) ([]hexSegment, error) {
	var segs []hexSegment
	var cur *hexSegment
	var base uint32
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		if l[0] != ':' {
			return nil, fmt.Errorf("line %d: does not start with ':'", line)
		}
		rec := make([]byte, hex.DecodedLen(len(l)-1))
		if _, err := hex.Decode(rec, l[1:]); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) < 5 || len(rec) != 5+int(rec[0]) {
			return nil, fmt.Errorf("line %d: record length does not match its byte count", line)
		}
		var sum byte
		for _, b := range rec {
			sum += b
		}
		if sum != 0 {
			return nil, fmt.Errorf("line %d: bad checksum", line)
		}
		n, off, typ, payload := int(rec[0]), uint32(rec[1])<<8|uint32(rec[2]), rec[3], rec[4:4+int(rec[0])]
		switch typ {
		case 0: // data
			addr := base + off
			if cur != nil {
				end := cur.Addr + uint32(len(cur.Data))
				switch {
				case addr == end:
				case addr > end && int(addr-end) < maxGap:
					cur.Data = append(cur.Data, bytes.Repeat([]byte{fill}, int(addr-end))...)
				default:
					segs = append(segs, *cur)
					cur = nil
				}
			}
			if cur == nil {
				cur = &hexSegment{Addr: addr}
			}
			cur.Data = append(cur.Data, payload...)
		case 1: // end of file
			if cur != nil {
				segs = append(segs, *cur)
			}
			return segs, nil
		case 2, 4: // extended segment / linear address
			if n != 2 {
				return nil, fmt.Errorf("line %d: address record with %d bytes, want 2", line, n)
			}
			v := uint32(payload[0])<<8 | uint32(payload[1])
			if typ == 2 {
				base = v << 4
			} else {
				base = v << 16
			}
		case 3, 5: // start address
			if n != 4 {
				return nil, fmt.Errorf("line %d: start address record with %d bytes, want 4", line, n)
			}
		default:
			return nil, fmt.Errorf("line %d: unsupported record type %d", line, typ)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no end of file record")
}
