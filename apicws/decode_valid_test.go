package apicws

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzValidJSON checks that validJSON accepts exactly what json.Valid does.
func FuzzValidJSON(f *testing.F) {
	addFrameSeeds(f)
	for _, s := range validCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}

var validCases = []string{
	``, ` `, `{}`, `[]`, `null`, `nul`, `nullx`, `true`, `false`, `tru`, `"`, `"a`, `"\"`, `"\u00e9"`, `"\u00g9"`, `"\x"`,
	"\"\x01\"", "\"\xff\"", `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `-12.5e3`, `.5`, `+1`,
	`{"a":1,}`, `[1,]`, `[,1]`, `{"a" 1}`, `{1:2}`, `{"a":1 "b":2}`, `[1 2]`, `{"a":[{"b":{}}]}`, `{} {}`, ` [ ] `,
	`[` + strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 10000), `[` + strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10001),
	`{"a":}`, `{"a"}`, `{"a":1`, `[1`, "[1]\n", "\t{\r\n}",
}

func TestValidJSON(t *testing.T) {
	for _, s := range validCases {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid says %v", s, got, want)
		}
	}
}
