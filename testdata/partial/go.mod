module heapsim.test/partial

go 1.19
