package apicsim

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// The sorted DN list, kept up to date by merging what changed, is always
// the class's DNs in order, whatever adds and removes come between reads;
// and a list handed out is never changed afterwards.
func TestClassIndexSortedDNs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ci := &classIndex{pos: map[string]int{}}
	var handed [][]string
	var copies [][]string
	for step := range 3000 {
		dn := "uni/tn-t/ap-a/epg-e/cep-" + strconv.Itoa(r.IntN(300))
		switch op := r.IntN(10); {
		case op < 5:
			if _, ok := ci.pos[dn]; !ok {
				ci.add(dn)
			}
		case op < 9:
			ci.remove(dn)
		default:
			got := ci.sortedDNs()
			if want := slices.Sorted(slices.Values(ci.dns)); !slices.Equal(got, want) {
				t.Fatalf("step %d: sortedDNs has %d DNs, want %d in order", step, len(got), len(want))
			}
			handed = append(handed, got)
			copies = append(copies, slices.Clone(got))
		}
	}
	if len(handed) < 100 {
		t.Fatalf("only %d reads", len(handed))
	}
	for i := range handed {
		if !slices.Equal(handed[i], copies[i]) {
			t.Fatalf("the list handed out at read %d changed later", i)
		}
	}
}
