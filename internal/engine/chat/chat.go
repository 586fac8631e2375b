// Package chat renders a conversation in the Phi-3 chat format and tokenises
// it:
//
//	<s><|system|>\n{system}<|end|>\n<|user|>\n{user}<|end|>\n<|assistant|>\n{reply}<|end|>\n ... <|assistant|>\n
//
// The markers are tokenised with special-token parsing and message contents
// without it, so text a user types ("<|system|>") stays text. With the Phi-3
// whitespace rule the newline after each marker disappears, exactly as when
// the whole rendered text is tokenised at once.
//
// The package imports only engine/tokenizer and the standard library.
package chat

import (
	"errors"
	"fmt"
	"strings"

	"maas/internal/engine/tokenizer"
)

// Roles accepted in a Message. "developer" is treated as "system".
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string
	Content string
}

// ErrNoMessages is returned for an empty conversation.
var ErrNoMessages = errors.New("chat: no messages")

// SupportsSystem reports whether a GGUF chat template has a system turn.
// Early Phi-3 templates drop system messages; later ones render <|system|>.
func SupportsSystem(template string) bool {
	return strings.Contains(template, "<|system|>")
}

// Segments returns the conversation as tokenizer segments ending with the
// assistant marker that asks for the next reply. With systemRole false,
// system messages are not rendered as a turn: their text is put before the
// first user message's text, separated by a blank line.
func Segments(msgs []Message, systemRole bool) ([]tokenizer.Segment, error) {
	if len(msgs) == 0 {
		return nil, ErrNoMessages
	}
	var pendingSystem []string
	var segs []tokenizer.Segment
	turn := func(marker, content string) {
		segs = append(segs,
			tokenizer.Segment{Text: marker + "\n", ParseSpecial: true},
			tokenizer.Segment{Text: content},
			tokenizer.Segment{Text: "<|end|>\n", ParseSpecial: true})
	}
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem, RoleDeveloper:
			if systemRole {
				turn("<|system|>", m.Content)
			} else {
				pendingSystem = append(pendingSystem, m.Content)
			}
		case RoleUser:
			c := m.Content
			if len(pendingSystem) > 0 {
				c = strings.Join(append(pendingSystem, c), "\n\n")
				pendingSystem = nil
			}
			turn("<|user|>", c)
		case RoleAssistant:
			turn("<|assistant|>", m.Content)
		default:
			return nil, fmt.Errorf("chat: message %d has unsupported role %q (want system, user or assistant)", i, m.Role)
		}
	}
	if len(pendingSystem) > 0 {
		turn("<|user|>", strings.Join(pendingSystem, "\n\n"))
	}
	segs = append(segs, tokenizer.Segment{Text: "<|assistant|>\n", ParseSpecial: true})
	return segs, nil
}

// Render returns the conversation as prompt text (without the BOS token).
func Render(msgs []Message, systemRole bool) (string, error) {
	segs, err := Segments(msgs, systemRole)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.Text)
	}
	return b.String(), nil
}

// Encode renders and tokenises the conversation, BOS first (as the model's
// metadata asks).
func Encode(tok *tokenizer.Tokenizer, msgs []Message, systemRole bool) ([]int32, error) {
	segs, err := Segments(msgs, systemRole)
	if err != nil {
		return nil, err
	}
	return tok.EncodeSegments(segs, true), nil
}
