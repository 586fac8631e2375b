package inference

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestMessageContentForms(t *testing.T) {
	cases := []struct {
		in   string
		want MessageContent
		err  string
	}{
		{`"hi"`, MessageContent{Text: "hi"}, ""},
		{`null`, MessageContent{}, ""},
		{`[]`, MessageContent{Parts: []ContentPart{}}, ""},
		{`[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]`,
			MessageContent{Parts: []ContentPart{{Type: "text", Text: "a"}, {Type: "image_url", ImageURL: json.RawMessage(`{"url":"u"}`)}}}, ""},
		{`5`, MessageContent{}, "string or an array"},
		{`{"a":1}`, MessageContent{}, "string or an array"},
	}
	for _, c := range cases {
		var got MessageContent
		err := json.Unmarshal([]byte(c.in), &got)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v", c.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, %v", c.in, got, err)
		}
	}
	for in, want := range map[string]string{`"hi"`: `"hi"`, `[{"type":"text","text":"a"}]`: `[{"type":"text","text":"a"}]`} {
		var c MessageContent
		_ = json.Unmarshal([]byte(in), &c)
		if b, _ := json.Marshal(c); string(b) != want {
			t.Errorf("round trip of %s = %s", in, b)
		}
	}
}

func TestStopAndPromptForms(t *testing.T) {
	var s StopSequences
	if err := json.Unmarshal([]byte(`"<|end|>"`), &s); err != nil || !reflect.DeepEqual(s, StopSequences{"<|end|>"}) {
		t.Errorf("string stop: %v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`["a","b"]`), &s); err != nil || !reflect.DeepEqual(s, StopSequences{"a", "b"}) {
		t.Errorf("array stop: %v %v", s, err)
	}
	for _, bad := range []string{`1`, `[1]`, `{}`} {
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("stop %s accepted", bad)
		}
	}
	var p PromptText
	if err := json.Unmarshal([]byte(`["once"]`), &p); err != nil || p != "once" {
		t.Errorf("prompt array: %q %v", p, err)
	}
	for _, bad := range []string{`["a","b"]`, `[]`, `3`} {
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("prompt %s accepted", bad)
		}
	}
}

func TestChunkWireForm(t *testing.T) {
	empty, stop := "", "stop"
	b, _ := json.Marshal(ChatCompletionChunk{ID: "x", Object: ObjectChatCompletionChunk, Choices: []ChunkChoice{
		{Delta: ChunkDelta{Role: RoleAssistant, Content: &empty}},
		{Index: 1, Delta: ChunkDelta{Content: &empty}, FinishReason: &stop},
	}})
	want := `{"id":"x","object":"chat.completion.chunk","created":0,"model":"","choices":[` +
		`{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"logprobs":null},` +
		`{"index":1,"delta":{"content":""},"finish_reason":"stop","logprobs":null}]}`
	if string(b) != want {
		t.Errorf("chunk =\n%s\nwant\n%s", b, want)
	}
}
