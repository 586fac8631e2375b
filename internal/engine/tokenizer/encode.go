package tokenizer

import "strings"

// Segment is one piece of text to encode. Special-token text (<|user|>, ...)
// inside it becomes special tokens only when ParseSpecial is set;
// user-defined tokens such as </s> are always cut out.
type Segment struct {
	Text         string
	ParseSpecial bool
}

// fragment is either raw text (id < 0) or one special token.
type fragment struct {
	text string
	id   int32
}

// Encode tokenises text. With addBOS the model's special tokens are added as
// its metadata asks (BOS first when add_bos_token, EOS last when
// add_eos_token); with parseSpecial the text of control tokens becomes those
// tokens.
func (t *Tokenizer) Encode(text string, addBOS, parseSpecial bool) []int32 {
	return t.EncodeSegments([]Segment{{Text: text, ParseSpecial: parseSpecial}}, addBOS)
}

// EncodeSegments tokenises the concatenation of segs as Encode would, except
// that each segment decides for itself whether control-token text is parsed.
// Chat rendering uses it to parse its own markers but not user content.
func (t *Tokenizer) EncodeSegments(segs []Segment, addBOS bool) []int32 {
	var frags []fragment
	for _, s := range segs {
		if s.Text == "" {
			continue
		}
		frags = t.partition(frags, s.Text, s.ParseSpecial)
	}
	frags = mergeRaw(frags)

	var out []int32
	if addBOS && t.addBOS && t.bos >= 0 {
		out = append(out, t.bos)
	}
	prevSpecial := true // the text start counts as following a special token
	strip := false      // strip leading whitespace of the next raw text
	for _, f := range frags {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			strip = t.rstrip[f.id]
			continue
		}
		text := f.text
		if strip {
			text = strings.TrimLeft(text, " \t\n\v\f\r")
			strip = false
			if text == "" {
				continue
			}
		}
		if t.addSpacePrefix && prevSpecial {
			text = " " + text
		}
		out = t.spm(out, strings.ReplaceAll(text, " ", "\u2581"))
		prevSpecial = false
	}
	if addBOS && t.addEOS && t.eos >= 0 {
		out = append(out, t.eos)
	}
	return out
}

// partition appends text to frags with special tokens cut out, longest token
// text first. Without parseSpecial only user-defined tokens are cut.
func (t *Tokenizer) partition(frags []fragment, text string, parseSpecial bool) []fragment {
	cur := []fragment{{text: text, id: -1}}
	var next []fragment
	for _, id := range t.specials {
		ty := t.types[id]
		if !parseSpecial && ty != TypeUserDefined {
			continue
		}
		tok := t.pieces[id]
		next = next[:0]
		for _, f := range cur {
			if f.id >= 0 || !strings.Contains(f.text, tok) {
				next = append(next, f)
				continue
			}
			s := f.text
			for {
				i := strings.Index(s, tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{text: s[:i], id: -1})
				}
				next = append(next, fragment{id: id})
				s = s[i+len(tok):]
			}
			if s != "" {
				next = append(next, fragment{text: s, id: -1})
			}
		}
		cur, next = next, cur
	}
	return append(frags, cur...)
}

// mergeRaw joins adjacent raw fragments (they come from different segments).
func mergeRaw(frags []fragment) []fragment {
	out := frags[:0]
	for _, f := range frags {
		if n := len(out); n > 0 && f.id < 0 && out[n-1].id < 0 {
			out[n-1].text += f.text
			continue
		}
		out = append(out, f)
	}
	return out
}

// symbol is a run of bytes in the merge chain; n == 0 once merged away.
type symbol struct {
	start, n   int
	prev, next int
}

// bigram is a candidate merge of symbols left and right.
type bigram struct {
	left, right int
	score       float32
	size        int
}

// bigramHeap is a max-heap: highest score first, ties to the leftmost pair.
type bigramHeap []bigram

func (h bigramHeap) less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score > h[j].score
	}
	return h[i].left < h[j].left
}

func (h *bigramHeap) push(b bigram) {
	*h = append(*h, b)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *bigramHeap) pop() bigram {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && s.less(r, l) {
			m = r
		}
		if !s.less(m, i) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// utf8Len is the sequence length implied by a lead byte's high nibble (read-only)
// (continuation and invalid bytes count as 1).
var utf8Len = [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}

// spm appends the tokens of text (spaces already escaped to ▁): start from
// UTF-8 characters and repeatedly merge the adjacent pair whose concatenation
// is the highest-scoring vocabulary token. O(n log n) in the text length.
func (t *Tokenizer) spm(out []int32, text string) []int32 {
	if text == "" {
		return out
	}
	syms := make([]symbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8Len[text[off]>>4], len(text)-off)
		syms = append(syms, symbol{start: off, n: n, prev: len(syms) - 1, next: len(syms) + 1})
		off += n
	}
	syms[len(syms)-1].next = -1

	h := make(bigramHeap, 0, len(syms))
	try := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		a, b := syms[l], syms[r]
		id, ok := t.byID[text[a.start:b.start+b.n]]
		if !ok {
			return
		}
		h.push(bigram{left: l, right: r, score: t.scores[id], size: a.n + b.n})
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for len(h) > 0 {
		bg := h.pop()
		l, r := &syms[bg.left], &syms[bg.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != bg.size {
			continue // stale: one side was merged since
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = bg.left
		}
		try(l.prev, bg.left)
		try(bg.left, l.next)
	}
	for i := 0; i != -1; i = syms[i].next {
		s := syms[i]
		if id, ok := t.byID[text[s.start:s.start+s.n]]; ok {
			out = append(out, id)
			continue
		}
		for j := s.start; j < s.start+s.n; j++ {
			out = append(out, t.byteTok[text[j]])
		}
	}
	return out
}
