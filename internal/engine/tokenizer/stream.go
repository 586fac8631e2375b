package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// StreamDecoder turns generated ids into text incrementally. It holds back the
// bytes of a UTF-8 character that is not complete yet (byte-fallback tokens
// split characters), so every string it returns is valid UTF-8. Not safe for
// concurrent use; one per sequence.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // at most 3 bytes of an incomplete character
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t, pending: make([]byte, 0, 8)}
}

// Push adds one token and returns the text that is complete so far
// (possibly ""). Control tokens add nothing.
func (d *StreamDecoder) Push(id int32) string {
	p := d.t.render(id)
	if p == "" {
		return ""
	}
	if len(d.pending) == 0 && utf8.ValidString(p) {
		return p
	}
	d.pending = append(d.pending, p...)
	return d.drain(false)
}

// Flush returns whatever is pending, with broken bytes replaced by U+FFFD.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

// drain emits the longest prefix of pending that does not end inside a
// character that could still be completed; invalid bytes become U+FFFD.
func (d *StreamDecoder) drain(all bool) string {
	buf := d.pending
	keep := 0
	if !all {
		keep = incompleteTail(buf)
	}
	emit := buf[:len(buf)-keep]
	s := strings.ToValidUTF8(string(emit), "\uFFFD")
	d.pending = append(d.pending[:0], buf[len(buf)-keep:]...)
	return s
}

// incompleteTail returns how many trailing bytes of b form the start of a
// UTF-8 character that more bytes could complete (0..3).
func incompleteTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c&0xC0 == 0x80 {
			continue // continuation byte: look further back
		}
		need := 0
		switch {
		case c&0xE0 == 0xC0:
			need = 2
		case c&0xF0 == 0xE0:
			need = 3
		case c&0xF8 == 0xF0:
			need = 4
		}
		if need > k && utf8.FullRune(b[len(b)-k:]) == false {
			return k
		}
		return 0
	}
	return 0
}
