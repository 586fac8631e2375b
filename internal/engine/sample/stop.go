package sample

import "strings"

// StopMatcher finds stop strings in streamed text. Text that could be the
// start of a stop string is held back until it is known not to be one, so a
// stop string is never emitted, even when it spans several tokens.
// Not safe for concurrent use; one per sequence.
type StopMatcher struct {
	stops []string
	held  string
}

// NewStopMatcher returns a matcher for stops (empty strings are ignored).
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push adds generated text. It returns the text that is safe to emit and
// whether a stop string was found; on a stop, out is the text before the
// earliest stop string and everything from it on is dropped.
func (m *StopMatcher) Push(text string) (out string, stopped bool) {
	if len(m.stops) == 0 {
		return text, false
	}
	buf := m.held + text
	first := -1
	for _, s := range m.stops {
		if i := strings.Index(buf, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		m.held = ""
		return buf[:first], true
	}
	hold := 0
	for _, s := range m.stops {
		for k := min(len(s)-1, len(buf)); k > hold; k-- {
			if strings.HasSuffix(buf, s[:k]) {
				hold = k
				break
			}
		}
	}
	m.held = buf[len(buf)-hold:]
	return buf[:len(buf)-hold], false
}

// Flush returns the held-back text at the end of generation.
func (m *StopMatcher) Flush() string {
	s := m.held
	m.held = ""
	return s
}
