// heapsim oracle: the test half. Reads an op stream from $HEAPSIM_ORACLE_IN and writes
// one line per op to $HEAPSIM_ORACLE_OUT:
//
//	a NPAGES P      ->  a BASE SCAVBYTES  (P -1: no P)
//	f K             ->  f                 (free the K-th allocation, counting from 0)
//	s NBYTES        ->  s RELEASEDBYTES   (NBYTES -1: everything)
//	c P             ->  c                 (flush P's page cache)
//
// Numbers are decimal, addresses hex. The first output line is "# hugepage BYTES"
// (physHugePageSize, which steers scavenging). With $HEAPSIM_ORACLE_STATE set, every
// line also carries the allocator's and the scavenge index's search addresses.

package runtime_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHeapsimOracle(t *testing.T) {
	in := os.Getenv("HEAPSIM_ORACLE_IN")
	if in == "" {
		t.Skip("HEAPSIM_ORACLE_IN not set")
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := os.Create(os.Getenv("HEAPSIM_ORACLE_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	defer w.Flush()
	state := os.Getenv("HEAPSIM_ORACLE_STATE") != ""

	o := runtime.NewHeapsimOracle()
	fmt.Fprintf(w, "# hugepage %d\n", runtime.HeapsimHugePageSize())
	if os.Getenv("HEAPSIM_ORACLE_BENCH") != "" {
		benchLoop(t, f, w, o)
		return
	}
	type span struct{ base, npages uintptr }
	var spans []span
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	ops := 0
	var busy time.Duration
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		num := func(i int) uint64 {
			v, err := strconv.ParseUint(strings.TrimPrefix(fields[i], "0x"), map[bool]int{true: 16, false: 10}[strings.HasPrefix(fields[i], "0x")], 64)
			if err != nil {
				t.Fatalf("line %d: %v", ops+1, err)
			}
			return v
		}
		start := time.Now()
		switch fields[0] {
		case "a":
			pid, _ := strconv.Atoi(fields[2])
			base, scav := o.Alloc(uintptr(num(1)), pid)
			busy += time.Since(start)
			spans = append(spans, span{base, uintptr(num(1))})
			fmt.Fprintf(w, "a %#x %d", base, scav)
		case "f":
			sp := spans[num(1)]
			start = time.Now()
			o.Free(sp.base, sp.npages)
			busy += time.Since(start)
			fmt.Fprint(w, "f")
		case "s":
			n := ^uintptr(0)
			if fields[1] != "-1" {
				n = uintptr(num(1))
			}
			r := o.Scavenge(n)
			busy += time.Since(start)
			fmt.Fprintf(w, "s %d", r)
		case "c":
			pid, _ := strconv.Atoi(fields[1])
			o.FlushCache(pid)
			busy += time.Since(start)
			fmt.Fprint(w, "c")
		default:
			t.Fatalf("line %d: unknown op %q", ops+1, fields[0])
		}
		if state {
			a, s, m := o.SearchAddrs()
			fmt.Fprintf(w, " search=%#x scav=%#x marked=%v", a, s, m)
		}
		fmt.Fprintln(w)
		ops++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "# ops=%d busyNs=%d\n", ops, busy.Nanoseconds())
}

// benchLoop parses every op first, then times one loop over them with no per-op
// timers, for npm run bench's comparison with heapsim.
func benchLoop(t *testing.T, f *os.File, w *bufio.Writer, o *runtime.HeapsimOracle) {
	type op struct {
		kind byte
		a    uintptr
		p    int
	}
	var ops []op
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		a, _ := strconv.ParseInt(fields[1], 10, 64)
		x := op{kind: fields[0][0], a: uintptr(a)}
		if x.kind == 'a' {
			x.p, _ = strconv.Atoi(fields[2])
		}
		if x.kind == 's' && a < 0 {
			x.a = ^uintptr(0)
		}
		ops = append(ops, x)
	}
	type span struct{ base, npages uintptr }
	spans := make([]span, 0, len(ops))
	start := time.Now()
	for _, x := range ops {
		switch x.kind {
		case 'a':
			base, _ := o.Alloc(x.a, x.p)
			spans = append(spans, span{base, x.a})
		case 'f':
			sp := spans[x.a]
			o.Free(sp.base, sp.npages)
		case 's':
			o.Scavenge(x.a)
		case 'c':
			o.FlushCache(int(x.a))
		}
	}
	fmt.Fprintf(w, "# ops=%d benchNs=%d\n", len(ops), time.Since(start).Nanoseconds())
}
