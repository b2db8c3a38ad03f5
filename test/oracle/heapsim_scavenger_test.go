// heapsim pacing oracle: drives the real Go 1.19 scavengerState (through export_test.go's
// Scavenger) and piController (PIController) with a scripted clock and work function, and
// logs every decision, for heapsim's go1.19 pacing model to reproduce (test/go119-pacing.test.ts).
// It is test code of heapsim, written for heapsim. Input ($HEAPSIM_PACING_IN), one
// directive a line:
//
//	procs N            GOMAXPROCS the scavenger sees
//	c BYTES DUR        append to the call script: a scavenge call releases min(BYTES,
//	                   work left) and reports DUR ns (the script is used in a cycle)
//	s NUM DEN          append to the sleep script: a sleep of n ns lasts n*NUM/DEN ns;
//	                   DEN 0: it lasts NUM ns (the script is used in a cycle)
//	reset              empty both scripts (and start them from their first entries)
//	w WORK STOP        a round: WORK bytes to scavenge, stop once at most STOP are left;
//	                   wake the scavenger and wait until it parks
//	p KP TI TT MIN MAX a fresh PI controller
//	n IN SET PERIOD    one sample through it
//
// Output ($HEAPSIM_PACING_OUT), one line per decision:
//
//	scav ASKED RELEASED DUR   a scavenge call
//	sleep ASKED SLEPT         a sleep
//	park                      the round ended with the scavenger parked
//	n OUTBITS OK              a controller output (float64 bits, hex) and whether it succeeded

package runtime_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestHeapsimPacing(t *testing.T) {
	in := os.Getenv("HEAPSIM_PACING_IN")
	if in == "" {
		t.Skip("HEAPSIM_PACING_IN not set")
	}
	text, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	type call struct{ bytes, dur int64 }
	type nap struct{ num, den int64 }
	var calls []call
	var naps []nap
	var ci, ni int
	var avail, stop uint64
	procs := int32(1)

	var s runtime.Scavenger
	s.Sleep = func(n int64) int64 {
		x := naps[ni%len(naps)]
		ni++
		slept := x.num
		if x.den != 0 {
			slept = n * x.num / x.den
		}
		log = append(log, fmt.Sprintf("sleep %d %d", n, slept))
		return slept
	}
	s.Scavenge = func(n uintptr) (uintptr, int64) {
		x := calls[ci%len(calls)]
		ci++
		r := uint64(x.bytes)
		if r > avail {
			r = avail
		}
		avail -= r
		log = append(log, fmt.Sprintf("scav %d %d %d", n, r, x.dur))
		return uintptr(r), x.dur
	}
	s.ShouldStop = func() bool { return avail <= stop }
	s.GoMaxProcs = func() int32 { return procs }
	started := false
	var pi *runtime.PIController

	for _, line := range strings.Split(string(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		i := func(k int) int64 {
			v, err := strconv.ParseInt(f[k], 10, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
		x := func(k int) float64 {
			v, err := strconv.ParseFloat(f[k], 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
		switch f[0] {
		case "procs":
			procs = int32(i(1))
		case "c":
			calls = append(calls, call{i(1), i(2)})
		case "s":
			naps = append(naps, nap{i(1), i(2)})
		case "reset":
			calls, naps, ci, ni = nil, nil, 0, 0
		case "w":
			if !started {
				s.Start()
				started = true
			}
			avail, stop = uint64(i(1)), uint64(i(2))
			s.Wake()
			if !s.BlockUntilParked(10e9) {
				t.Fatal("scavenger did not park")
			}
			log = append(log, "park")
		case "p":
			pi = runtime.NewPIController(x(1), x(2), x(3), x(4), x(5))
		case "n":
			out, ok := pi.Next(x(1), x(2), x(3))
			log = append(log, fmt.Sprintf("n %016x %v", math.Float64bits(out), ok))
		default:
			t.Fatalf("unknown directive %q", line)
		}
	}
	if started {
		s.Stop()
	}
	w, err := os.Create(os.Getenv("HEAPSIM_PACING_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := bufio.NewWriter(w)
	defer b.Flush()
	fmt.Fprintf(b, "# physpage %d\n", runtime.PhysPageSize)
	for _, l := range log {
		fmt.Fprintln(b, l)
	}
}
