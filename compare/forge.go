package compare

import (
	"encoding/base64"
	"slices"
	"strings"
)

// The attacker's tools. They know nothing about any mechanism: they peel
// base64 layers (any of the four common alphabets and paddings), split on
// the separators tokens use ('.' in JWTs, '|' in securecookie), and look
// for plaintext. What they find in one mechanism's token they would find
// in any other's.

var encodings = []*base64.Encoding{
	base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding,
}

const separators = ".|"

// maxDepth bounds how many layers the tools peel.
const maxDepth = 4

// reveals reports whether token, decoded as far as the tools can, contains
// plain.
func reveals(token, plain string) bool {
	return len(rewrite(token, plain, plain, maxDepth)) > 0
}

// forge returns token with every occurrence of old, in whatever layer the
// tools find it, replaced by repl and re-encoded as it was: an edited
// claim with the rest of the token (its signature, say) left alone. A
// layer that decodes both with and without '=' padding is re-encoded both
// ways, so there may be several candidates; there are none if the tools
// found no old to replace.
func forge(token, old, repl string) []string {
	return rewrite(token, old, repl, maxDepth)
}

// twin maps each encoding to the one of the same alphabet with the other
// padding rule.
var twin = map[*base64.Encoding]*base64.Encoding{
	encodings[0]: encodings[1], encodings[1]: encodings[0],
	encodings[2]: encodings[3], encodings[3]: encodings[2],
}

func rewrite(s, old, repl string, depth int) []string {
	if strings.Contains(s, old) {
		return []string{strings.ReplaceAll(s, old, repl)}
	}
	if depth == 0 {
		return nil
	}
	var out []string
	for _, sep := range separators + "\x00" {
		parts := []string{s}
		if sep != 0 {
			if !strings.ContainsRune(s, sep) {
				continue
			}
			parts = strings.Split(s, string(sep))
		}
		for i, p := range parts {
			for _, enc := range encodings {
				b, err := enc.DecodeString(p)
				if err != nil || len(b) == 0 {
					continue
				}
				for _, sub := range rewrite(string(b), old, repl, depth-1) {
					for _, e := range []*base64.Encoding{enc, twin[enc]} {
						edited := slices.Clone(parts)
						edited[i] = e.EncodeToString([]byte(sub))
						out = append(out, strings.Join(edited, string(sep)))
					}
				}
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// flipBit returns token with one bit of what its i-th character encodes
// flipped, or false if that character is no base64 digit. The bit flipped
// is the digit's bit of value 16, which is never one of the padding bits a
// final digit may carry, so the decoded bytes really change.
func flipBit(token string, i int) (string, bool) {
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	const url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	alphabet := std
	if strings.ContainsAny(token, "-_") {
		alphabet = url
	}
	idx := strings.IndexByte(alphabet, token[i])
	if idx < 0 {
		return "", false
	}
	b := []byte(token)
	b[i] = alphabet[idx^16]
	return string(b), true
}
