module heapsim.test/spike

go 1.19
