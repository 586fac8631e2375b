package sample

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func mustNew(t *testing.T, p Params, n int) *Sampler {
	t.Helper()
	s, err := New(p, n)
	if err != nil {
		t.Fatalf("New(%+v): %v", p, err)
	}
	return s
}

func TestGreedy(t *testing.T) {
	s := mustNew(t, Params{}, 5)
	for _, c := range []struct {
		logits []float32
		want   int32
	}{
		{[]float32{0, 3, 1, 3, -1}, 1}, // tie goes to the lower id
		{[]float32{-5, -4, -3, -2, -1}, 4},
		{[]float32{float32(math.Inf(-1)), -1e30, -1e30, 0, 0}, 3},
	} {
		r, err := s.Sample(c.logits)
		if err != nil || r.ID != c.want {
			t.Errorf("Sample(%v) = %d, %v; want %d", c.logits, r.ID, err, c.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	s := mustNew(t, Params{}, 3)
	nan := float32(math.NaN())
	inf := float32(math.Inf(-1))
	for _, l := range [][]float32{{0, nan, 1}, {inf, inf, inf}, {1, 2}, {float32(math.Inf(1)), 0, 0}} {
		if _, err := s.Sample(l); err == nil {
			t.Errorf("Sample(%v) accepted bad logits", l)
		}
	}
	for _, p := range []Params{
		{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {PresencePenalty: 3},
		{FrequencyPenalty: -2.5}, {TopLogprobs: 21}, {LogitBias: map[int32]float32{7: 1}},
		{LogitBias: map[int32]float32{1: 101}}, {Temperature: float32(math.NaN())},
	} {
		if _, err := New(p, 3); err == nil {
			t.Errorf("New(%+v) accepted bad params", p)
		}
	}
}

func TestBiasAndPenalties(t *testing.T) {
	logits := []float32{1, 2, 3, 0}
	s := mustNew(t, Params{LogitBias: map[int32]float32{0: 10}}, 4)
	if r, _ := s.Sample(logits); r.ID != 0 {
		t.Errorf("bias: got %d, want 0", r.ID)
	}
	s = mustNew(t, Params{PresencePenalty: 1.5}, 4)
	s.Accept(2)
	if r, _ := s.Sample(logits); r.ID != 1 { // 3-1.5 < 2
		t.Errorf("presence: got %d, want 1", r.ID)
	}
	s = mustNew(t, Params{FrequencyPenalty: 0.4}, 4)
	s.Accept(2)
	s.Accept(2)
	if r, _ := s.Sample(logits); r.ID != 2 { // 3-0.8 > 2
		t.Errorf("frequency x2: got %d, want 2", r.ID)
	}
	s.Accept(2)
	if r, _ := s.Sample(logits); r.ID != 1 { // 3-1.2 < 2
		t.Errorf("frequency x3: got %d, want 1", r.ID)
	}
	if logits[2] != 3 {
		t.Errorf("Sample modified its input")
	}
}

func TestSeedDeterminism(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i))) * 3
	}
	for _, p := range []Params{
		{Temperature: 1, Seed: 42},
		{Temperature: 0.8, TopP: 0.9, Seed: 42},
		{Temperature: 1.2, TopK: 40, Seed: 42},
		{Temperature: 1, MinP: 0.05, TopP: 0.95, TopK: 100, Seed: 42},
	} {
		run := func(seed int64) []int32 {
			p.Seed = seed
			s := mustNew(t, p, len(logits))
			var ids []int32
			for range 50 {
				r, err := s.Sample(logits)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			return ids
		}
		a, b, c := run(42), run(42), run(7)
		if !slices.Equal(a, b) {
			t.Errorf("%+v: same seed gave %v and %v", p, a, b)
		}
		if slices.Equal(a, c) {
			t.Errorf("%+v: different seeds gave the same 50 tokens", p)
		}
	}
}

func TestTruncation(t *testing.T) {
	// p = softmax(log(w)) with w = 0.5, 0.3, 0.15, 0.05.
	logits := []float32{float32(math.Log(0.5)), float32(math.Log(0.3)), float32(math.Log(0.15)), float32(math.Log(0.05))}
	seen := func(p Params) map[int32]int {
		s := mustNew(t, p, 4)
		m := map[int32]int{}
		for range 2000 {
			r, _ := s.Sample(logits)
			m[r.ID]++
		}
		return m
	}
	if m := seen(Params{Temperature: 1, TopK: 2, Seed: 1}); m[2]+m[3] != 0 || m[0] == 0 || m[1] == 0 {
		t.Errorf("top_k 2 drew %v", m)
	}
	if m := seen(Params{Temperature: 1, TopP: 0.75, Seed: 1}); m[2]+m[3] != 0 || m[1] == 0 {
		t.Errorf("top_p 0.75 drew %v", m)
	}
	if m := seen(Params{Temperature: 1, TopP: 0.81, Seed: 1}); m[2] == 0 || m[3] != 0 {
		t.Errorf("top_p 0.81 drew %v", m)
	}
	if m := seen(Params{Temperature: 1, MinP: 0.5, Seed: 1}); m[2]+m[3] != 0 || m[1] == 0 {
		t.Errorf("min_p 0.5 drew %v", m)
	}
	m := seen(Params{Temperature: 1, Seed: 3})
	if f := float64(m[0]) / 2000; f < 0.45 || f > 0.55 {
		t.Errorf("token 0 drawn with frequency %v, want about 0.5 (%v)", f, m)
	}
	if m := seen(Params{Temperature: 0.05, Seed: 1}); m[0] < 1990 {
		t.Errorf("low temperature drew %v", m)
	}
}

func TestTopPWideWindow(t *testing.T) {
	// Flat distribution: top-p must widen past the first window of 64.
	logits := make([]float32, 5000)
	s := mustNew(t, Params{Temperature: 1, TopP: 0.5, Seed: 9}, len(logits))
	maxID := int32(0)
	for range 3000 {
		r, _ := s.Sample(logits)
		maxID = max(maxID, r.ID)
	}
	if maxID < 2000 || maxID >= 2500 {
		t.Errorf("top_p 0.5 over 5000 equal tokens reached id %d, want in [2000, 2500)", maxID)
	}
}

func TestLogprobs(t *testing.T) {
	logits := []float32{1, 3, 2, 3, 0}
	s := mustNew(t, Params{Logprobs: true, TopLogprobs: 3}, 5)
	r, err := s.Sample(logits)
	if err != nil {
		t.Fatal(err)
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l))
	}
	want := float32(3 - math.Log(z))
	if r.ID != 1 || math.Abs(float64(r.Logprob-want)) > 1e-6 {
		t.Errorf("got id %d logprob %v, want 1 %v", r.ID, r.Logprob, want)
	}
	ids := []int32{r.Top[0].ID, r.Top[1].ID, r.Top[2].ID}
	if !slices.Equal(ids, []int32{1, 3, 2}) || r.Top[0].Logprob != want {
		t.Errorf("top = %+v", r.Top)
	}
}

func TestTopNLarge(t *testing.T) {
	n := 32064
	logits := make([]float32, n)
	for i := range logits {
		logits[i] = float32((i * 7919) % 1000)
	}
	s := mustNew(t, Params{}, n)
	got := slices.Clone(s.topN(logits, 20))
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	slices.SortStableFunc(all, func(a, b int32) int {
		switch {
		case logits[a] > logits[b]:
			return -1
		case logits[a] < logits[b]:
			return 1
		}
		return 0
	})
	if !slices.Equal(got, all[:20]) {
		t.Errorf("topN = %v, want %v", got, all[:20])
	}
}

func TestStopMatcher(t *testing.T) {
	for _, c := range []struct {
		name    string
		stops   []string
		pieces  []string
		want    string
		stopped bool
	}{
		{"none", nil, []string{"a", "b"}, "ab", false},
		{"within", []string{"END"}, []string{"abENDc"}, "ab", true},
		{"across", []string{"END"}, []string{"ab", "E", "N", "Dxx"}, "ab", true},
		{"false start", []string{"END"}, []string{"ab", "EN", "d"}, "abENd", false},
		{"earliest", []string{"yz", "xy"}, []string{"axyz"}, "a", true},
		{"held at end", []string{"END"}, []string{"aE"}, "aE", false},
		{"unicode", []string{"→stop"}, []string{"go →", "st", "op now"}, "go ", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := NewStopMatcher(c.stops)
			var b strings.Builder
			stopped := false
			for _, p := range c.pieces {
				out, st := m.Push(p)
				if strings.Contains(out, "END") {
					t.Fatalf("emitted a stop string: %q", out)
				}
				b.WriteString(out)
				if st {
					stopped = true
					break
				}
			}
			if !stopped {
				b.WriteString(m.Flush())
			}
			if b.String() != c.want || stopped != c.stopped {
				t.Fatalf("got %q stopped=%v, want %q %v", b.String(), stopped, c.want, c.stopped)
			}
		})
	}
	m := NewStopMatcher([]string{"END"})
	if out, _ := m.Push("abE"); out != "ab" {
		t.Fatalf("did not hold back a possible stop start: %q", out)
	}
}

func BenchmarkSample(b *testing.B) {
	logits := make([]float32, 32064)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)*0.37)) * 4
	}
	for _, c := range []struct {
		name string
		p    Params
	}{
		{"greedy", Params{}},
		{"temp", Params{Temperature: 0.8, Seed: 1}},
		{"topk40_topp0.95", Params{Temperature: 0.8, TopK: 40, TopP: 0.95, Seed: 1}},
		{"topp0.9", Params{Temperature: 0.8, TopP: 0.9, Seed: 1}},
		{"logprobs5", Params{Logprobs: true, TopLogprobs: 5}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := New(c.p, len(logits))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sample(logits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nucleus selects exactly the sorted prefix that top-p defines.
func TestNucleusMatchesSortedPrefix(t *testing.T) {
	for seed := range 20 {
		n := 3000
		s := mustNew(t, Params{Temperature: 1}, n)
		x := uint32(seed*7919 + 1)
		for i := range s.wts {
			x = x*1664525 + 1013904223
			s.wts[i] = float64(x>>20%64) / 8 // many ties
		}
		var total float64
		for _, w := range s.wts {
			total += w
		}
		target := total * (0.05 + 0.9*float64(seed)/20)
		ids := make([]int32, n)
		for i := range ids {
			ids[i] = int32(i)
		}
		slices.SortStableFunc(ids, func(a, b int32) int {
			switch {
			case s.wts[a] > s.wts[b]:
				return -1
			case s.wts[a] < s.wts[b]:
				return 1
			}
			return 0
		})
		var cum float64
		want := map[int32]bool{}
		for _, id := range ids {
			want[id] = true
			if cum += s.wts[id]; cum >= target {
				break
			}
		}
		got := s.nucleus(target)
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d ids, want %d", seed, len(got), len(want))
		}
		for _, id := range got {
			if !want[id] {
				t.Fatalf("seed %d: id %d (weight %v) not in the nucleus", seed, id, s.wts[id])
			}
		}
	}
}

// The matcher's output is a prefix of the input that holds no stop string;
// it is all of the input when no stop string occurs, and otherwise a stop
// string follows it in the input. (Which stop wins when two overlap depends
// on where the pieces end: the first one completed stops the output.)
func FuzzStopMatcher(f *testing.F) {
	f.Add("hello END world", "END", "lo", uint8(3))
	f.Add("aaab", "aab", "b", uint8(1))
	f.Add("→→stop", "→stop", "→", uint8(2))
	f.Fuzz(func(t *testing.T, text, stop1, stop2 string, step uint8) {
		stops := []string{stop1, stop2}
		m := NewStopMatcher(stops)
		var b strings.Builder
		n := int(step%7) + 1
		stopped := false
		for i := 0; i < len(text) && !stopped; i += n {
			out, st := m.Push(text[i:min(i+n, len(text))])
			b.WriteString(out)
			stopped = st
		}
		if !stopped {
			b.WriteString(m.Flush())
		}
		got := b.String()
		has := func(s string) bool {
			return (stop1 != "" && strings.Contains(s, stop1)) || (stop2 != "" && strings.Contains(s, stop2))
		}
		switch {
		case !strings.HasPrefix(text, got):
			t.Fatalf("output %q is not a prefix of %q", got, text)
		case has(got):
			t.Fatalf("output %q holds a stop string of %q", got, stops)
		case stopped != has(text):
			t.Fatalf("stopped %v for %q with stops %q", stopped, text, stops)
		case !stopped && got != text:
			t.Fatalf("output %q, want all of %q", got, text)
		case stopped && !((stop1 != "" && strings.HasPrefix(text[len(got):], stop1)) || (stop2 != "" && strings.HasPrefix(text[len(got):], stop2))):
			t.Fatalf("output %q is not followed by a stop string in %q", got, text)
		}
	})
}
