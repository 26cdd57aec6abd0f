// Package suggest finds the known name closest to a mistyped one, for the
// "did you mean" of every error that names an unknown field, entry,
// template name or command.
package suggest

import "strings"

// Closest returns the candidate nearest to word by Damerau-Levenshtein
// distance (optimal string alignment: an insertion, deletion, substitution
// or swap of two neighbouring characters each count one), ignoring case,
// and whether one is near enough to suggest: within a third of word's
// length, at least 1 and at most 3 edits. A candidate equal to word is not
// a suggestion. Ties go to the earlier candidate, so callers pass a
// sorted list for a stable answer.
func Closest(word string, candidates []string) (string, bool) {
	w := []rune(strings.ToLower(word))
	limit := min(max(len(w)/3, 1), 3)
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == word {
			continue
		}
		if d := Distance(w, []rune(strings.ToLower(c))); d < bestD {
			best, bestD = c, d
		}
	}
	return best, best != ""
}

// Distance is the optimal string alignment distance between a and b.
func Distance(a, b []rune) int {
	// Three rows: the one before the previous is needed for swaps.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
