package sched

import (
	"context"
	"io"
	"sync"
	"time"

	"maas/internal/engine/sample"
)

// Finish reasons of the final event.
const (
	FinishStop      = "stop"      // end-of-generation token or stop string
	FinishLength    = "length"    // max tokens or the context is full
	FinishCancelled = "cancelled" // the request's context ended
	FinishError     = "error"     // the model failed; Event.Err says why
)

// Event is one step of a request's output. Every token gives one event (its
// Text may be empty while a character or a possible stop string is held
// back); the last event has Done set.
type Event struct {
	Text     string          // text to append (valid UTF-8; never part of a stop string)
	Tokens   []int32         // tokens sampled in this step
	Logprobs []sample.Result // one per token when the request asked for logprobs

	Done             bool
	FinishReason     string // on the final event
	Err              error  // on the final event when FinishReason is FinishError
	PromptTokens     int
	CompletionTokens int
	TimeToFirstToken time.Duration // from Submit to the first sampled token
	QueueTime        time.Duration // from Submit to joining a batch
	TotalTime        time.Duration // from Submit to the final event
}

// Stream delivers a request's events in order. The scheduler never blocks on
// a slow reader: events wait in the stream.
type Stream struct {
	mu     sync.Mutex
	events []Event
	closed bool // the final event has been queued
	notify chan struct{}
}

func newStream() *Stream { return &Stream{notify: make(chan struct{}, 1)} }

func (s *Stream) push(e Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.events = append(s.events, e)
	s.closed = e.Done
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Recv returns the next event. After the final event it returns io.EOF. It
// returns ctx's error if ctx ends first (the request itself is cancelled by
// the context given to Submit, not by this one).
func (s *Stream) Recv(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if len(s.events) > 0 {
			e := s.events[0]
			s.events[0] = Event{}
			s.events = s.events[1:]
			s.mu.Unlock()
			return e, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return Event{}, io.EOF
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Collect reads every event and returns the concatenated text, all tokens
// and the final event.
func (s *Stream) Collect(ctx context.Context) (text string, ids []int32, final Event, err error) {
	var b []byte
	for {
		e, err := s.Recv(ctx)
		if err == io.EOF {
			return string(b), ids, final, nil
		}
		if err != nil {
			return string(b), ids, final, err
		}
		b = append(b, e.Text...)
		ids = append(ids, e.Tokens...)
		if e.Done {
			final = e
		}
	}
}
