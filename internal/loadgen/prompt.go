package loadgen

import (
	"math/rand/v2"
	"strings"
)

// wordList holds common English words, nearly all one token each in the
// Phi-3 (Llama SentencePiece) vocabulary when preceded by a space.
const wordList = "the of and to in is that for it as was with be by on not he this are or his from at which but have " +
	"an had they you were their one all we can her has there been if more when will would who so no she " +
	"other its may these about into than them only time new some could first two then do any like my now " +
	"over such our man me even most made after also did many before must through years where much your " +
	"way well down should because each just those people how too little state good very make world still " +
	"own see men work long get here between both life being under never day same another know while last " +
	"might us great old year off come since against go came right used take three water house small city " +
	"school light book river music table window garden market road paper morning night green"

// Words returns n space-separated words drawn deterministically from seed:
// filler text of about n tokens (a chat template adds a few more). Different
// seeds give different texts, so requests do not share a cached prefix by
// accident.
func Words(seed uint64, n int) string {
	if n <= 0 {
		return ""
	}
	words := strings.Fields(wordList)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var b strings.Builder
	b.Grow(n * 6)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}
