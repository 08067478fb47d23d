package manifest

import (
	"path"
	"sort"
	"strings"
)

// graph is a dependency graph: an edge a -> b means a needs b (b comes
// first in the order). Edge targets need not be nodes.
type graph struct {
	edges map[string][]string
	nodes map[string]bool
}

func newGraph() *graph {
	return &graph{edges: map[string][]string{}, nodes: map[string]bool{}}
}

func (g *graph) addNode(n string) {
	if _, ok := g.edges[n]; !ok {
		g.edges[n] = []string{}
	}
	g.nodes[n] = true
}

func (g *graph) addEdge(from, to string) {
	for _, e := range g.edges[from] {
		if e == to {
			return
		}
	}
	g.edges[from] = append(g.edges[from], to)
}

func (g *graph) addNodeWithEdges(n string, to []string) {
	g.addNode(n)
	for _, t := range to {
		g.addEdge(n, t)
	}
}

// sortedNodes lists every name with an edge list, sorted.
func (g *graph) sortedNodes() []string {
	names := make([]string, 0, len(g.edges))
	for n := range g.edges {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CycleError is a dependency cycle; Path starts and ends with the same
// name.
type CycleError struct {
	Init bool // in the init order rather than the libs order
	Path []string
}

func (e *CycleError) Error() string {
	what := "dependency cycle"
	if e.Init {
		what = "init dependency cycle"
	}
	return what + ": " + strings.Join(e.Path, " -> ")
}

// order returns the nodes in dependency order: a depth-first post-order
// where roots are tried in name order and each node's edges are followed
// in name order. Edge targets that are not nodes are left out. On a cycle
// it returns the cycle (first and last entries equal).
func (g *graph) order() (names, cycle []string) {
	done := map[string]bool{}
	onPath := map[string]int{} // node -> index in stack
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		done[n] = true
		onPath[n] = len(stack)
		stack = append(stack, n)
		next := append([]string(nil), g.edges[n]...)
		sort.Strings(next)
		for _, d := range next {
			if i, ok := onPath[d]; ok {
				return append(append([]string(nil), stack[i:]...), d)
			}
			if !done[d] {
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		delete(onPath, n)
		names = append(names, n)
		return nil
	}
	for _, n := range g.sortedNodes() {
		if !done[n] {
			if c := visit(n); c != nil {
				return nil, c
			}
		}
	}
	out := names[:0:0]
	for _, n := range names {
		if g.nodes[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// matchNames appends to dst every name of all that pattern matches
// (path.Match syntax), skipping names dst already has.
func matchNames(dst []string, pattern string, all []string) []string {
next:
	for _, n := range all {
		if ok, _ := path.Match(pattern, n); !ok {
			continue
		}
		for _, have := range dst {
			if have == n {
				continue next
			}
		}
		dst = append(dst, n)
	}
	return dst
}
