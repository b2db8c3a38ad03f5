package main

import "testing"

// TestFragment runs the fragmenter once, for heapsim record --test.
func TestFragment(t *testing.T) {
	main()
	if len(keep) == 0 {
		t.Fatal("nothing kept")
	}
}
