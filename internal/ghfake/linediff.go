package ghfake

import "bytes"

// maxEditDistance bounds the diff work per file; beyond it the counts fall
// back to "every line replaced", which is also what GitHub shows for huge
// rewrites.
const maxEditDistance = 4000

func splitLines(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// lineDiff counts added and deleted lines between two texts with Myers'
// greedy shortest-edit-script length, as `git diff --numstat` counts them.
func lineDiff(a, b []byte) (additions, deletions int) {
	x, y := splitLines(a), splitLines(b)
	n, m := len(x), len(y)
	if n == 0 || m == 0 {
		return m, n
	}
	d := editDistance(x, y)
	if d < 0 {
		return m, n
	}
	// d = additions + deletions and additions - deletions = m - n.
	return (d + m - n) / 2, (d - m + n) / 2
}

func editDistance(x, y [][]byte) int {
	n, m := len(x), len(y)
	maxD := min(n+m, maxEditDistance)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				i = v[off+k+1]
			} else {
				i = v[off+k-1] + 1
			}
			j := i - k
			for i < n && j < m && bytes.Equal(x[i], y[j]) {
				i++
				j++
			}
			v[off+k] = i
			if i >= n && j >= m {
				return d
			}
		}
	}
	return -1
}
